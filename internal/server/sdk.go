package server

import (
	"compress/gzip"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/ramp-release/ramp/events"
	"github.com/ramp-release/ramp/flags"
	"github.com/ramp-release/ramp/internal/ingest"
	"github.com/ramp-release/ramp/internal/store"
)

// serverKey authenticates a request that needs a server-side SDK key.
func (s *Server) serverKey(r *http.Request) (store.SDKKey, *Problem) {
	k, p := s.sdkKey(r)
	if p != nil {
		return k, p
	}
	if k.Kind != store.SDKKeyServer {
		return k, problem(http.StatusForbidden, "this route needs a server SDK key; client keys evaluate client-side flags through /ofrep/v1")
	}
	return k, nil
}

func (s *Server) sdkFlags(w http.ResponseWriter, r *http.Request) error {
	k, p := s.serverKey(r)
	if p != nil {
		return p
	}
	snap, err := s.hub.get(r.Context(), k.Environment)
	if err != nil {
		return err
	}
	w.Header().Set("ETag", snap.etag)
	w.Header().Set("Cache-Control", "no-cache")
	if match := r.Header.Get("If-None-Match"); match != "" && match == snap.etag {
		w.WriteHeader(http.StatusNotModified)
		return nil
	}
	w.Header().Set("Content-Type", "application/json")
	_, err = w.Write(snap.payload)
	return err
}

// sdkStream sends the environment's flag set as a server-sent event on connect and
// after every change. The event id is the revision: a client reconnecting with
// Last-Event-ID equal to the current revision is not sent the set again.
func (s *Server) sdkStream(w http.ResponseWriter, r *http.Request) error {
	k, p := s.serverKey(r)
	if p != nil {
		return p
	}
	ch, cancel := s.hub.subscribe(k.Environment)
	defer cancel()
	snap, err := s.hub.get(r.Context(), k.Environment)
	if err != nil {
		return err
	}
	rc := http.NewResponseController(w)
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-cache")
	h.Set("Connection", "keep-alive")
	h.Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	sent := int64(-1)
	if last, err := strconv.ParseInt(r.Header.Get("Last-Event-ID"), 10, 64); err == nil {
		sent = last
	}
	send := func(es *envSnapshot) error {
		if es.revision <= sent {
			return nil
		}
		sent = es.revision
		if _, err := fmt.Fprintf(w, "event: snapshot\nid: %d\ndata: %s\n\n", es.revision, es.payload); err != nil {
			return err
		}
		return rc.Flush()
	}
	if _, err := io.WriteString(w, ": connected\n\n"); err != nil {
		return nil
	}
	if err := send(snap); err != nil {
		return nil
	}
	if err := rc.Flush(); err != nil {
		return nil
	}
	heartbeat := time.NewTicker(s.cfg.Heartbeat)
	defer heartbeat.Stop()
	for {
		select {
		case es, ok := <-ch:
			if !ok {
				return nil // dropped for being slow: the client reconnects and resumes
			}
			if err := send(es); err != nil {
				return nil
			}
		case <-heartbeat.C:
			// A key revoked since the stream opened ends it here, at the latest one
			// heartbeat later (checking on every change would send every stream to the
			// store at once when the key cache expires).
			if _, p := s.serverKey(r); p != nil && p.Status != http.StatusServiceUnavailable {
				_, _ = io.WriteString(w, "event: error\ndata: "+p.Detail+"\n\n")
				_ = rc.Flush()
				return nil
			}
			if _, err := io.WriteString(w, ": heartbeat\n\n"); err != nil {
				return nil
			}
			if err := rc.Flush(); err != nil {
				return nil
			}
		case <-r.Context().Done():
			return nil
		case <-s.stop:
			return nil
		}
	}
}

// maxDecodedEventBytes bounds a gzip-compressed batch once decompressed.
const maxDecodedEventBytes = 16 << 20

// EventsAccepted is the answer to an event batch.
type EventsAccepted struct {
	BatchID   string `json:"batch_id"`
	Events    int    `json:"events"`
	Seq       int64  `json:"seq"`
	Duplicate bool   `json:"duplicate"`
}

// sdkEvents validates a batch and acknowledges it only once it is durably queued.
func (s *Server) sdkEvents(w http.ResponseWriter, r *http.Request) error {
	k, p := s.serverKey(r)
	if p != nil {
		return p
	}
	var body io.Reader = r.Body
	if strings.EqualFold(r.Header.Get("Content-Encoding"), "gzip") {
		zr, err := gzip.NewReader(r.Body)
		if err != nil {
			return badRequest("Content-Encoding is gzip but the body is not gzip data: %v", err)
		}
		defer zr.Close()
		body = io.LimitReader(zr, maxDecodedEventBytes+1)
	}
	data, err := io.ReadAll(body)
	if err != nil {
		var maxErr *http.MaxBytesError
		if errors.As(err, &maxErr) {
			return err
		}
		return badRequest("reading the body: %v", err)
	}
	if len(data) > maxDecodedEventBytes {
		return problem(http.StatusRequestEntityTooLarge, fmt.Sprintf("the decompressed batch is larger than %d bytes; send smaller batches", maxDecodedEventBytes))
	}
	var batch events.Batch
	// The fast decoder takes the common case; anything it does not handle goes to the
	// strict decoder, which also words the errors.
	if ingest.FastDecodeBatch(data, &batch) != nil {
		if err := flags.DecodeJSON(data, &batch); err != nil {
			s.metrics.events.WithLabelValues("rejected").Inc()
			return err
		}
	}
	if err := batch.Validate(); err != nil {
		s.metrics.events.WithLabelValues("rejected").Inc()
		var errs events.Errors
		errors.As(err, &errs)
		pr := problem(http.StatusUnprocessableEntity, "the batch has invalid events; none were accepted")
		pr.Type = "https://ramp.dev/problems/validation"
		for _, e := range errs {
			pr.Errors = append(pr.Errors, flags.FieldError{Path: e.Path, Message: e.Message})
		}
		return pr
	}
	if s.cfg.UnitKey != nil {
		// Privacy option: only keyed hashes of unit keys are stored and analysed.
		for i := range batch.Events {
			batch.Events[i].Unit = s.cfg.UnitKey(batch.Events[i].Unit)
		}
		if data, err = json.Marshal(&batch); err != nil {
			return err
		}
	}
	seq, dup, err := s.store.AppendEventBatch(r.Context(), k.Environment, batch.BatchID, data)
	if err != nil {
		s.log.Error("queue event batch", "environment", k.Environment, "err", err)
		w.Header().Set("Retry-After", "2")
		return problem(http.StatusServiceUnavailable, "the event queue is unavailable; retry the same batch later")
	}
	if dup {
		s.metrics.events.WithLabelValues("duplicate").Inc()
	} else {
		s.metrics.events.WithLabelValues("accepted").Inc()
		if s.cfg.EventsSink != nil {
			s.cfg.EventsSink(k.Environment, seq)
		}
	}
	writeJSON(w, http.StatusAccepted, EventsAccepted{BatchID: batch.BatchID, Events: len(batch.Events), Seq: seq, Duplicate: dup})
	return nil
}
