package sdk

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"sort"

	"github.com/ramp-release/ramp/flags"
)

// current is what a client serves: a compiled snapshot and where it came from.
// It is swapped atomically as a whole.
type current struct {
	snap        *flags.Snapshot
	environment string
	revision    int64
	// fromServer is false for a snapshot loaded from the cache or offline file.
	fromServer bool
}

// document is what GET /sdk/v1/flags returns and the stream carries: an environment's
// revision and its flags and segments, which are exactly a flags.Set. A bare set (no
// environment, no revision) is accepted from an offline file.
type document struct {
	Environment string                    `json:"environment"`
	Revision    int64                     `json:"revision"`
	Flags       map[string]*flags.Flag    `json:"flags"`
	Segments    map[string]*flags.Segment `json:"segments,omitempty"`
}

// decodeDocument parses, validates and compiles a flag document. Nothing about it is
// trusted: a document that is not exactly a valid flag set is an error, never a
// partial snapshot. It decodes as flags.DecodeSet does (unknown fields and repeated
// keys rejected, numbers exact) in one pass over the envelope, and flags.Compile
// validates the set once.
func decodeDocument(data []byte) (*current, error) {
	var doc document
	if err := flags.DecodeJSON(data, &doc); err != nil {
		return nil, fmt.Errorf("not a flag document: %w", err)
	}
	cur := &current{environment: doc.Environment, revision: doc.Revision}
	if doc.Flags == nil {
		return cur, errors.New(`the document has no "flags" object`)
	}
	snap, err := flags.Compile(&flags.Set{Flags: doc.Flags, Segments: doc.Segments})
	if err != nil {
		return cur, err
	}
	cur.snap = snap
	return cur, nil
}

// changedKeys lists, sorted, the flags that differ between two sets: added, removed,
// edited, or testing a segment (directly or through other segments) that changed.
func changedKeys(old, new *flags.Set) []string {
	if old == nil {
		keys := make([]string, 0, len(new.Flags))
		for k := range new.Flags {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		return keys
	}
	changedSeg := map[string]bool{}
	for k, s := range new.Segments {
		if o, ok := old.Segments[k]; !ok || !reflect.DeepEqual(o, s) {
			changedSeg[k] = true
		}
	}
	for k := range old.Segments {
		if _, ok := new.Segments[k]; !ok {
			changedSeg[k] = true
		}
	}
	// A segment testing a changed segment changed too; iterate to a fixed point
	// (validation has ruled out cycles, so this ends).
	for grew := len(changedSeg) > 0; grew; {
		grew = false
		for k, s := range new.Segments {
			if changedSeg[k] {
				continue
			}
			for _, r := range s.Rules {
				if refersTo(r.Conditions, changedSeg) {
					changedSeg[k], grew = true, true
					break
				}
			}
		}
	}
	var keys []string
	for k, f := range new.Flags {
		o, ok := old.Flags[k]
		if !ok || !reflect.DeepEqual(o, f) {
			keys = append(keys, k)
			continue
		}
		for _, r := range f.Rules {
			if refersTo(r.Conditions, changedSeg) {
				keys = append(keys, k)
				break
			}
		}
	}
	for k := range old.Flags {
		if _, ok := new.Flags[k]; !ok {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	return keys
}

func refersTo(conds []flags.Condition, segs map[string]bool) bool {
	for _, c := range conds {
		if c.Segment != "" && segs[c.Segment] {
			return true
		}
	}
	return false
}

// writeFileAtomic replaces path with data so that a reader (or a crash) sees either the
// old file or the new one, never a mix: write a temporary file in the same directory,
// sync it, rename it over path.
func writeFileAtomic(path string, data []byte) (err error) {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			_ = os.Remove(f.Name())
		}
	}()
	if _, err := f.Write(data); err != nil {
		_ = f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		_ = f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	if err := os.Rename(f.Name(), path); err != nil {
		return err
	}
	// Make the rename itself durable; not every platform can sync a directory.
	if d, err := os.Open(dir); err == nil {
		_ = d.Sync()
		_ = d.Close()
	}
	return nil
}
