// Package audit defines ramp's append-only audit log entries and the hash chain that
// makes tampering evident: each entry's hash covers its content and the previous
// entry's hash, so editing, deleting or reordering any stored entry breaks every hash
// after it, and Verify names the first entry that no longer matches.
package audit

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"time"
)

// Entry is one audit record: who did what to which target, the state before and
// after, and why. For automatic decisions Actor is "controller" and Reason carries
// the evidence.
type Entry struct {
	Seq         int64           `json:"seq"`
	Time        time.Time       `json:"time"`
	Actor       string          `json:"actor"`
	Action      string          `json:"action"` // e.g. "flag.create", "flag.state.update"
	Environment string          `json:"environment,omitempty"`
	Target      string          `json:"target"` // e.g. "flag:summarize"
	Before      json.RawMessage `json:"before,omitempty"`
	After       json.RawMessage `json:"after,omitempty"`
	Reason      string          `json:"reason,omitempty"`
	PrevHash    string          `json:"prev_hash"`
	Hash        string          `json:"hash"`
}

// Genesis is the PrevHash of the first entry.
const Genesis = "0000000000000000000000000000000000000000000000000000000000000000"

// TimePrecision is the precision entry times are stored and hashed at; PostgreSQL keeps
// microseconds, so every engine truncates to them before hashing.
const TimePrecision = time.Microsecond

// Hash computes the entry's hash: SHA-256 over its fields (Hash itself excluded), each
// length-prefixed so that no two different entries encode alike.
func Hash(e Entry) string {
	h := sha256.New()
	field := func(b []byte) {
		var n [8]byte
		binary.BigEndian.PutUint64(n[:], uint64(len(b)))
		h.Write(n[:])
		h.Write(b)
	}
	field([]byte(fmt.Sprint(e.Seq)))
	field([]byte(e.Time.UTC().Truncate(TimePrecision).Format(time.RFC3339Nano)))
	field([]byte(e.Actor))
	field([]byte(e.Action))
	field([]byte(e.Environment))
	field([]byte(e.Target))
	field(e.Before)
	field(e.After)
	field([]byte(e.Reason))
	field([]byte(e.PrevHash))
	return hex.EncodeToString(h.Sum(nil))
}

// Seal sets e's sequence number, previous hash and hash to follow prev (nil for the
// first entry). Stores call it inside the transaction that appends e.
func Seal(e *Entry, prev *Entry) {
	e.Time = e.Time.UTC().Truncate(TimePrecision)
	if prev == nil {
		e.Seq, e.PrevHash = 1, Genesis
	} else {
		e.Seq, e.PrevHash = prev.Seq+1, prev.Hash
	}
	e.Hash = Hash(*e)
}

// BrokenError names the first entry where the chain no longer holds.
type BrokenError struct {
	Seq    int64
	Reason string
}

func (e *BrokenError) Error() string {
	return fmt.Sprintf("audit log broken at entry %d: %s", e.Seq, e.Reason)
}

// Verify checks a whole log given in Seq order and returns a *BrokenError for the first
// entry that was altered, removed or reordered, or nil when the chain is intact.
func Verify(entries []Entry) error {
	prevHash, want := Genesis, int64(1)
	for _, e := range entries {
		switch {
		case e.Seq != want:
			return &BrokenError{Seq: e.Seq, Reason: fmt.Sprintf("expected entry %d here; entries were removed or reordered", want)}
		case e.PrevHash != prevHash:
			return &BrokenError{Seq: e.Seq, Reason: "its prev_hash does not match the previous entry's hash"}
		case Hash(e) != e.Hash:
			return &BrokenError{Seq: e.Seq, Reason: "its content does not match its hash; the entry was edited"}
		}
		prevHash, want = e.Hash, want+1
	}
	return nil
}
