package store

// IngestStore keeps what the event aggregator needs to resume exactly after a restart:
// its checkpoint (the event log position it has consumed and its state) and metric
// definitions.
type IngestStore interface{}
