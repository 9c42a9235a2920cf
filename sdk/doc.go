// Package sdk is ramp's Go client: it evaluates feature flags in-process and reports
// what users were served and what they did.
//
// A [Client] keeps a compiled snapshot of one environment's flags (package flags, the
// same code the server runs, so the two cannot disagree) and swaps it atomically when
// the server streams a change. Evaluation reads the snapshot with one atomic load and
// never waits for the network: before the first snapshot it returns the caller's
// default, and when the server is gone it keeps serving the last good snapshot. A
// document that does not parse, validate and compile, or that belongs to another
// environment, is never swapped in; the client reports it and keeps what it has.
//
// # Keeping current
//
// New fetches GET /sdk/v1/flags, then follows GET /sdk/v1/stream (server-sent events,
// resumed with Last-Event-ID). When the stream drops, the client fetches again (with
// If-None-Match, so an unchanged snapshot costs a 304) and reconnects after a jittered
// exponential backoff; when streaming does not work at all, those fetches are the
// polling fallback. Status reports READY (confirmed by the server), STALE (serving the
// last good snapshot without the server), ERROR (stale or not ready for longer than
// Config.ErrorGrace) or FATAL (the server refused the SDK key with 401 or 403: the
// client stops retrying). With Config.CachePath each good snapshot is also written to
// a file (atomically: a temporary file renamed over it) and a client started while the
// server is down serves that file; Config.OfflineFile runs without any server.
//
// # Exposures and metrics
//
// An evaluation that serves a variant from a rule a rollout rendered (its metadata
// names the "rollout_id", "stage" and "arm") records an exposure: flag, variant, rule,
// flag version, unit key, rollout, stage, arm and the context's analysis dimensions
// (Config.Dimensions: country, plan and platform by default). Config.ExposeAllFlags
// records every evaluation that serves a variant. A unit × flag × variant × version is
// reported once per Config.ExposureWindow: a fixed-size, sharded, set-associative
// cache with CLOCK (approximate LRU) eviction inside each set remembers what was sent
// (Config.ExposureCacheSize entries, 100 000 by default, 8 bytes each, a set per
// cache line). A repeated exposure costs one hash and a lock-free scan of one set,
// without allocating. Exposures are dated by a coarse clock (to within 100 ms). Track
// adds metric events (task completed, thumbs up, latency, cost, tickets, conversions).
//
// Events wait in a bounded queue that never blocks the caller (a full queue drops the
// event and counts it; the next batch tells the server how many were lost) and are
// sent to POST /sdk/v1/events in gzip batches with a random batch id. A batch that
// meets a 5xx, a 429 or a network error is retried with backoff under the same id, so
// the server stores it once. Close sends what is queued.
package sdk
