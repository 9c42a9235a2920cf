package server

import (
	"bytes"
	"encoding/json"
	"fmt"
	"hash/fnv"
	"io"
	"net/http"
	"strconv"
	"sync"

	"github.com/ramp-release/ramp/flags"
	"github.com/ramp-release/ramp/internal/store"
)

// OpenFeature Remote Evaluation Protocol (OFREP) v0.3: evaluation happens here, with the
// same package flags the SDKs use, for clients that cannot evaluate locally.

// ofrepRequest is the body of an evaluation request.
type ofrepRequest struct {
	Context map[string]any `json:"context"`
}

// ofrepResult is a success or an error for one flag. Value is omitted only when the
// caller's default applies (a disabled flag without an off variant, or no default).
type ofrepResult struct {
	Key          string         `json:"key"`
	Value        any            `json:"value,omitempty"`
	Reason       string         `json:"reason,omitempty"`
	Variant      string         `json:"variant,omitempty"`
	Metadata     map[string]any `json:"metadata,omitempty"`
	ErrorCode    string         `json:"errorCode,omitempty"`
	ErrorDetails string         `json:"errorDetails,omitempty"`
	hasValue     bool
}

// MarshalJSON writes value even when it is a falsy JSON value (false, 0, "", null
// served by a json flag), which omitempty on an interface would not drop but a nil
// interface would; hasValue decides.
func (o ofrepResult) MarshalJSON() ([]byte, error) {
	type plain struct {
		Key          string          `json:"key"`
		Value        json.RawMessage `json:"value,omitempty"`
		Reason       string          `json:"reason,omitempty"`
		Variant      string          `json:"variant,omitempty"`
		Metadata     map[string]any  `json:"metadata,omitempty"`
		ErrorCode    string          `json:"errorCode,omitempty"`
		ErrorDetails string          `json:"errorDetails,omitempty"`
	}
	p := plain{Key: o.Key, Reason: o.Reason, Variant: o.Variant, Metadata: o.Metadata, ErrorCode: o.ErrorCode, ErrorDetails: o.ErrorDetails}
	if o.hasValue {
		v, err := json.Marshal(o.Value)
		if err != nil {
			return nil, err
		}
		p.Value = v
	}
	return json.Marshal(p)
}

var bufPool = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// ofrepFlag is one flag's OFREP success answer, cut into fragments encoded in advance:
// an answer is head (with the value when one is served) + reason + tail.
type ofrepFlag struct {
	headNoValue []byte            // {"key":"k"
	heads       map[string][]byte // variant → {"key":"k","value":V,"variant":"v"
	tail        []byte            // ,"metadata":{…}} or }
}

func encodeOFREPFragments(set *flags.Set) (map[string]*ofrepFlag, error) {
	out := make(map[string]*ofrepFlag, len(set.Flags))
	for key, f := range set.Flags {
		keyJSON, err := json.Marshal(key)
		if err != nil {
			return nil, err
		}
		of := &ofrepFlag{headNoValue: append([]byte(`{"key":`), keyJSON...), heads: map[string][]byte{}}
		for name, v := range f.Variants {
			val, err := json.Marshal(v)
			if err != nil {
				return nil, fmt.Errorf("flag %q variant %q: %w", key, name, err)
			}
			nameJSON, _ := json.Marshal(name)
			head := append(append([]byte{}, of.headNoValue...), `,"value":`...)
			head = append(head, val...)
			head = append(head, `,"variant":`...)
			of.heads[name] = append(head, nameJSON...)
		}
		of.tail = []byte("}")
		if len(f.Metadata) > 0 {
			// Encode through flags.Flag so metadata numbers keep the evaluation core's
			// integer/float distinction.
			doc, err := json.Marshal(&flags.Flag{Type: f.Type, Variants: map[string]any{}, Metadata: f.Metadata})
			if err != nil {
				return nil, fmt.Errorf("flag %q metadata: %w", key, err)
			}
			var m struct{ Metadata json.RawMessage }
			if err := json.Unmarshal(doc, &m); err != nil {
				return nil, err
			}
			of.tail = append(append([]byte(`,"metadata":`), m.Metadata...), '}')
		}
		out[key] = of
	}
	return out, nil
}

// ofrepSnapshot authenticates the request and returns the snapshot its key may evaluate.
func (s *Server) ofrepSnapshot(r *http.Request) (*flags.Snapshot, *envSnapshot, *Problem) {
	k, p := s.sdkKey(r)
	if p != nil {
		return nil, nil, p
	}
	es, err := s.hub.get(r.Context(), k.Environment)
	if err != nil {
		return nil, nil, toProblem(err)
	}
	if k.Kind == store.SDKKeyClient {
		return es.clientSnap, es, nil
	}
	return es.snap, es, nil
}

// readOFREPContext reads the evaluation context; an empty body means an empty context.
func readOFREPContext(r *http.Request, body []byte) (flags.Context, error) {
	var req ofrepRequest
	if len(bytes.TrimSpace(body)) > 0 {
		dec := json.NewDecoder(bytes.NewReader(body))
		if err := dec.Decode(&req); err != nil {
			return flags.Context{}, err
		}
	}
	ctx := flags.Context{Attributes: req.Context}
	if tk, ok := req.Context["targetingKey"].(string); ok {
		ctx.Key = tk
	}
	return ctx, nil
}

func evaluateOFREP(snap *flags.Snapshot, key string, ctx flags.Context) ofrepResult {
	res := snap.Evaluate(key, ctx)
	out := ofrepResult{Key: key, Metadata: res.Metadata}
	if res.ErrorCode != flags.ErrNone {
		out.ErrorCode, out.ErrorDetails = res.ErrorCode.String(), res.ErrorMessage
		if res.ErrorCode == flags.ErrFlagNotFound {
			out.ErrorDetails = "flag " + strconv.Quote(key) + " not found"
		}
		return out
	}
	out.Reason, out.Variant = res.Reason.String(), res.Variant
	if res.Variant != "" {
		out.Value, out.hasValue = res.Value, true
	}
	return out
}

func ofrepError(w http.ResponseWriter, status int, key, code, details string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(ofrepResult{Key: key, ErrorCode: code, ErrorDetails: details})
}

func (s *Server) ofrepSingle(w http.ResponseWriter, r *http.Request) error {
	key := r.PathValue("key")
	snap, es, p := s.ofrepSnapshot(r)
	if p != nil {
		ofrepError(w, p.Status, key, "GENERAL", p.Detail)
		return nil
	}
	buf := bufPool.Get().(*bytes.Buffer)
	defer bufPool.Put(buf)
	buf.Reset()
	if _, err := buf.ReadFrom(r.Body); err != nil {
		ofrepError(w, http.StatusBadRequest, key, "PARSE_ERROR", "reading the body: "+err.Error())
		return nil
	}
	ctx, err := readOFREPContext(r, buf.Bytes())
	if err != nil {
		ofrepError(w, http.StatusBadRequest, key, "INVALID_CONTEXT", "the body must be {\"context\": {...}}: "+err.Error())
		return nil
	}
	res := evaluateOFREP(snap, key, ctx)
	s.metrics.countEvaluation(reasonLabel(res))
	switch res.ErrorCode {
	case "":
	case "FLAG_NOT_FOUND":
		ofrepError(w, http.StatusNotFound, key, res.ErrorCode, res.ErrorDetails)
		return nil
	case "TARGETING_KEY_MISSING", "INVALID_CONTEXT", "PARSE_ERROR":
		ofrepError(w, http.StatusBadRequest, key, res.ErrorCode, res.ErrorDetails)
		return nil
	default:
		ofrepError(w, http.StatusInternalServerError, key, res.ErrorCode, res.ErrorDetails)
		return nil
	}
	of := es.ofrep[key]
	out := buf.Bytes()[:0]
	if head, ok := of.heads[res.Variant]; ok && res.hasValue {
		out = append(out, head...)
	} else {
		out = append(out, of.headNoValue...)
	}
	out = append(out, `,"reason":"`...)
	out = append(out, res.Reason...)
	out = append(out, '"')
	out = append(out, of.tail...)
	w.Header().Set("Content-Type", "application/json")
	_, err = w.Write(out)
	return err
}

func reasonLabel(r ofrepResult) string {
	if r.ErrorCode != "" {
		return "ERROR"
	}
	return r.Reason
}

// ofrepBulk evaluates every flag the key may see. Its ETag covers the environment's
// revision and the context, so an unchanged pair answers 304.
func (s *Server) ofrepBulk(w http.ResponseWriter, r *http.Request) error {
	snap, es, p := s.ofrepSnapshot(r)
	if p != nil {
		writeJSON(w, p.Status, map[string]string{"errorCode": "GENERAL", "errorDetails": p.Detail})
		return nil
	}
	body, err := io.ReadAll(r.Body)
	if err != nil {
		writeJSON(w, http.StatusBadRequest, map[string]string{"errorCode": "PARSE_ERROR", "errorDetails": err.Error()})
		return nil
	}
	ctx, err := readOFREPContext(r, body)
	if err != nil {
		writeJSON(w, http.StatusBadRequest, map[string]string{"errorCode": "INVALID_CONTEXT", "errorDetails": "the body must be {\"context\": {...}}: " + err.Error()})
		return nil
	}
	h := fnv.New64a()
	h.Write([]byte(es.etag))
	h.Write(bytes.TrimSpace(body))
	etag := `"` + strconv.FormatUint(h.Sum64(), 36) + `"`
	w.Header().Set("ETag", etag)
	if r.Header.Get("If-None-Match") == etag {
		w.WriteHeader(http.StatusNotModified)
		return nil
	}
	out := struct {
		Flags []ofrepResult `json:"flags"`
	}{Flags: make([]ofrepResult, 0, len(snap.Keys()))}
	for _, key := range snap.Keys() {
		out.Flags = append(out.Flags, evaluateOFREP(snap, key, ctx))
	}
	data, err := json.Marshal(out)
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", "application/json")
	_, err = w.Write(data)
	return err
}

// ofrepConfiguration tells OFREP clients what this server supports.
func (s *Server) ofrepConfiguration(w http.ResponseWriter, r *http.Request) error {
	if _, p := s.sdkKey(r); p != nil {
		return p
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"name": "ramp",
		"capabilities": map[string]any{
			"cacheInvalidation": map[string]any{"polling": map[string]any{"enabled": true, "minPollingIntervalMs": 1000}},
			"flagEvaluation":    map[string]any{"supportedTypes": []string{"boolean", "string", "integer", "float", "object"}},
		},
	})
	return nil
}
