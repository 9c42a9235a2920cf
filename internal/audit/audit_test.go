package audit

import (
	"encoding/json"
	"errors"
	"testing"
	"time"
)

func chain(n int) []Entry {
	var out []Entry
	var prev *Entry
	for i := 0; i < n; i++ {
		e := Entry{Time: time.Date(2026, 11, 25, 10, 0, i, 123456789, time.UTC), Actor: "ana", Action: "flag.state.update",
			Environment: "production", Target: "flag:summarize", Before: json.RawMessage(`{"enabled":false}`),
			After: json.RawMessage(`{"enabled":true}`), Reason: "ring 5%"}
		Seal(&e, prev)
		out = append(out, e)
		prev = &out[len(out)-1]
	}
	return out
}

func TestVerify(t *testing.T) {
	tests := []struct {
		name    string
		tamper  func([]Entry) []Entry
		wantSeq int64 // 0: intact
	}{
		{"an untouched chain verifies", func(e []Entry) []Entry { return e }, 0},
		{"an empty log verifies", func([]Entry) []Entry { return nil }, 0},
		{"an edited reason is caught at that entry", func(e []Entry) []Entry { e[2].Reason = "nothing to see"; return e }, 3},
		{"an edited after-state is caught at that entry", func(e []Entry) []Entry { e[1].After = json.RawMessage(`{"enabled":false}`); return e }, 2},
		{"a recomputed hash is caught at the next entry", func(e []Entry) []Entry { e[1].Actor = "mallory"; e[1].Hash = Hash(e[1]); return e }, 3},
		{"a deleted entry is caught where the gap is", func(e []Entry) []Entry { return append(e[:2], e[3:]...) }, 4},
		{"swapped entries are caught", func(e []Entry) []Entry { e[1], e[2] = e[2], e[1]; return e }, 3},
		{"a shifted time is caught", func(e []Entry) []Entry { e[0].Time = e[0].Time.Add(time.Second); return e }, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := Verify(tt.tamper(chain(5)))
			if tt.wantSeq == 0 {
				if err != nil {
					t.Fatalf("Verify = %v, want nil", err)
				}
				return
			}
			var be *BrokenError
			if !errors.As(err, &be) {
				t.Fatalf("Verify = %v, want a *BrokenError", err)
			}
			if be.Seq != tt.wantSeq {
				t.Errorf("broken at %d (%s), want %d", be.Seq, be.Reason, tt.wantSeq)
			}
		})
	}
}

func TestHashSeparatesFields(t *testing.T) {
	a := Entry{Actor: "ab", Action: "c"}
	b := Entry{Actor: "a", Action: "bc"}
	if Hash(a) == Hash(b) {
		t.Fatal("entries whose fields differ only in where one ends hash alike")
	}
}
