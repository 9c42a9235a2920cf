package server

// analysisRoutes are the metric definition and analysis operations.
func (s *Server) analysisRoutes() []route { return nil }
