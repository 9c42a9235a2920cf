package sdk

import (
	"errors"
	"fmt"
)

// Status says how fresh the flags a client serves are.
type Status uint8

// The statuses. A client starts NotReady (or Stale, when it starts from its cache file),
// becomes Ready once the server confirms its snapshot, turns Stale when it loses the
// server (it keeps serving the last good snapshot), and Error when that lasts longer
// than Config.ErrorGrace. Fatal means the server rejected the SDK key (401 or 403): the
// client stops retrying and keeps serving what it has.
const (
	StatusNotReady Status = iota
	StatusReady
	StatusStale
	StatusError
	StatusFatal
)

var statusNames = [...]string{"NOT_READY", "READY", "STALE", "ERROR", "FATAL"}

func (s Status) String() string {
	if int(s) < len(statusNames) {
		return statusNames[s]
	}
	return fmt.Sprintf("Status(%d)", s)
}

// ErrKeyRejected is wrapped by the error of a client whose SDK key the server refused
// (401 unknown key, 403 revoked key). It is fatal: the client stops retrying.
var ErrKeyRejected = errors.New("the server rejected the SDK key")

// ErrClosed is returned by operations on a closed client.
var ErrClosed = errors.New("sdk: client closed")

// ErrQueueFull is returned by Track when the event queue is full and the event was
// dropped (and counted).
var ErrQueueFull = errors.New("sdk: event queue full, event dropped")

// SnapshotError is a flag document the client refused: malformed JSON, a set that does
// not validate or compile, or a snapshot of another environment. The client keeps
// serving its last good snapshot.
type SnapshotError struct {
	// Source says where the document came from: "fetch", "stream", "cache" or "offline".
	Source string
	// Revision is the document's revision, when it could be read.
	Revision int64
	Err      error
}

func (e *SnapshotError) Error() string {
	if e.Revision > 0 {
		return fmt.Sprintf("sdk: rejected flag snapshot from %s (revision %d): %v", e.Source, e.Revision, e.Err)
	}
	return fmt.Sprintf("sdk: rejected flag snapshot from %s: %v", e.Source, e.Err)
}

func (e *SnapshotError) Unwrap() error { return e.Err }

// HTTPError is an HTTP answer the client did not expect.
type HTTPError struct {
	Op     string // "fetch", "stream" or "events"
	Status int
	Detail string
}

func (e *HTTPError) Error() string {
	if e.Detail != "" {
		return fmt.Sprintf("sdk: %s: HTTP %d: %s", e.Op, e.Status, e.Detail)
	}
	return fmt.Sprintf("sdk: %s: HTTP %d", e.Op, e.Status)
}

// Unwrap makes a 401 or 403 match ErrKeyRejected.
func (e *HTTPError) Unwrap() error {
	if e.Status == 401 || e.Status == 403 {
		return ErrKeyRejected
	}
	return nil
}

// Stats counts what a client did since it started.
type Stats struct {
	// SnapshotsApplied and SnapshotsRejected count flag documents swapped in and refused.
	SnapshotsApplied, SnapshotsRejected int64
	// Revision is the revision of the snapshot served (0 before the first).
	Revision int64
	// Exposures counts exposures queued; ExposuresDeduplicated those suppressed
	// because the same one was reported within the window.
	Exposures, ExposuresDeduplicated int64
	// Metrics counts metric events queued by Track.
	Metrics int64
	// EventsDropped counts events lost: queue full, or a batch given up after its
	// attempts or refused by the server.
	EventsDropped int64
	// EventsSent counts events the server acknowledged; BatchesSent their batches.
	EventsSent, BatchesSent int64
	// SendRetries counts batch attempts that were retried.
	SendRetries int64
	// Queued is the number of events waiting to be sent.
	Queued int
}
