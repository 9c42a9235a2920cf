package server

// rolloutRoutes are the release plan and rollout operations.
func (s *Server) rolloutRoutes() []route { return nil }
