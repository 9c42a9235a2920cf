package ingest

import (
	"bytes"
	"compress/flate"
	"context"
	"encoding/gob"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/ramp-release/ramp/internal/analysis"
	"github.com/ramp-release/ramp/internal/analysis/quantile"
	"github.com/ramp-release/ramp/internal/store"
)

// snapshotVersion changes whenever the encoding of the state does; an aggregator
// that finds another version starts again from the beginning of the log.
const snapshotVersion = 1

// snapshot is the aggregator's state as checkpointed: everything needed to go on
// folding exactly where it stopped.
type snapshot struct {
	Version int
	Seq     int64
	Stages  []stageSnapshot
	// Adoption are the rollouts' adoption aggregates; checkpoints written before
	// they existed decode without them.
	Adoption []*adoptionAgg
}

type stageSnapshot struct {
	Rollout, Env, Flag, StageName string
	Stage                         int
	EvidenceStart, AsOf           time.Time
	Share                         float64
	Audience                      string
	HoldoutControl                bool
	Treatment, Control            string
	Alpha                         float64
	TestedStages                  int
	Dims                          []string
	DimValues                     [][]string
	Tests                         []testSnapshot
	NT, NC, NMulti                float64
	Keys                          []string
	Arms                          []uint8
	DimV                          []int16
	Vals                          []float64
}

type testSnapshot struct {
	Name, Metric, Role string
	Def                store.MetricDefinition
	Spec               analysis.Metric
	Total              armStats
	Segs               [][]armStats
	Sketch             [2][]byte
	Frozen             bool
	Threshold          [2]float64
}

// Checkpoint saves the state and the position folded so far, with the feedback
// gathered since the last checkpoint, in one store transaction. The state is encoded
// under the lock (folding waits for it) and written outside it.
func (a *Aggregator) Checkpoint(ctx context.Context) error {
	a.mu.Lock()
	if a.pos == a.saved && len(a.feedback) == 0 {
		a.mu.Unlock()
		return nil
	}
	prev, seq := a.saved, a.pos
	state, err := a.encodeLocked()
	fb := a.feedback
	a.feedback = nil
	a.mu.Unlock()
	if err != nil {
		return fmt.Errorf("encode the aggregator state: %w", err)
	}
	if a.opts.checkpointBytes != nil {
		a.opts.checkpointBytes(len(state))
	}
	err = a.st.SaveIngestCheckpoint(ctx, prev, store.IngestCheckpoint{Seq: seq, State: state}, fb)
	a.mu.Lock()
	defer a.mu.Unlock()
	switch {
	case errors.Is(err, store.ErrConflict):
		// Another aggregator moved the checkpoint on: what this one folded since prev
		// is already counted there. Start again from the store.
		a.mu.Unlock()
		rerr := a.Restore(ctx)
		a.mu.Lock()
		return errors.Join(err, rerr)
	case err != nil:
		a.feedback = append(fb, a.feedback...)
		return err
	}
	a.saved = seq
	return nil
}

func (a *Aggregator) encodeLocked() ([]byte, error) {
	snap := snapshot{Version: snapshotVersion, Seq: a.pos}
	for _, g := range a.stages {
		ss := stageSnapshot{
			Rollout: g.Rollout, Env: g.Env, Flag: g.Flag, StageName: g.StageName, Stage: g.Stage,
			EvidenceStart: g.EvidenceStart, AsOf: g.AsOf, Share: g.Share, Audience: g.Audience, HoldoutControl: g.HoldoutControl,
			Treatment: g.Treatment, Control: g.Control, Alpha: g.Alpha, TestedStages: g.TestedStages,
			Dims: g.Dims, DimValues: g.DimValues, NT: g.NT, NC: g.NC, NMulti: g.NMulti,
			Keys: g.Keys, Arms: g.Arms, DimV: g.DimV, Vals: g.Vals,
		}
		for _, t := range g.Tests {
			ts := testSnapshot{Name: t.Name, Metric: t.Metric, Role: t.Role, Def: t.Def, Spec: t.Spec, Total: t.Total, Segs: t.Segs,
				Frozen: t.Frozen, Threshold: t.Threshold}
			for i, k := range t.Sketch {
				if k != nil {
					ts.Sketch[i], _ = k.MarshalBinary()
				}
			}
			ss.Tests = append(ss.Tests, ts)
		}
		snap.Stages = append(snap.Stages, ss)
	}
	for _, ad := range a.adopt {
		snap.Adoption = append(snap.Adoption, ad)
	}
	var buf bytes.Buffer
	zw, _ := flate.NewWriter(&buf, flate.BestSpeed)
	if err := gob.NewEncoder(zw).Encode(&snap); err != nil {
		return nil, err
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// Restore replaces the state with the store's last checkpoint (or the empty state
// at the beginning of the log, when there is none).
func (a *Aggregator) Restore(ctx context.Context) error {
	cp, err := a.st.IngestCheckpoint(ctx)
	if err != nil {
		return err
	}
	var snap snapshot
	if len(cp.State) > 0 {
		if err := gob.NewDecoder(flate.NewReader(bytes.NewReader(cp.State))).Decode(&snap); err != nil && !errors.Is(err, io.EOF) {
			return fmt.Errorf("decode the aggregator checkpoint at %d: %w", cp.Seq, err)
		}
		if snap.Version != snapshotVersion || snap.Seq != cp.Seq {
			return fmt.Errorf("the aggregator checkpoint at %d has version %d (want %d) and seq %d", cp.Seq, snap.Version, snapshotVersion, snap.Seq)
		}
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	a.pos, a.saved = cp.Seq, cp.Seq
	a.stages = map[string]*stageAgg{}
	a.units = map[string]map[string]unitRefs{}
	a.rollouts = map[string]rolloutEntry{}
	a.feedback = nil
	a.adopt = map[string]*adoptionAgg{}
	for _, ad := range snap.Adoption {
		ad.reindex()
		a.adopt[ad.Rollout] = ad
	}
	a.reindexAdoptionLocked()
	for _, ss := range snap.Stages {
		g := &stageAgg{
			Rollout: ss.Rollout, Env: ss.Env, Flag: ss.Flag, StageName: ss.StageName, Stage: ss.Stage,
			EvidenceStart: ss.EvidenceStart, AsOf: ss.AsOf, Share: ss.Share, Audience: ss.Audience, HoldoutControl: ss.HoldoutControl,
			Treatment: ss.Treatment, Control: ss.Control, Alpha: ss.Alpha, TestedStages: ss.TestedStages,
			Dims: ss.Dims, DimValues: ss.DimValues, NT: ss.NT, NC: ss.NC, NMulti: ss.NMulti,
			Keys: ss.Keys, Arms: ss.Arms, DimV: ss.DimV, Vals: ss.Vals,
		}
		for _, ts := range ss.Tests {
			t := test{Name: ts.Name, Metric: ts.Metric, Role: ts.Role, Def: ts.Def, Spec: ts.Spec, Total: ts.Total, Segs: ts.Segs,
				Frozen: ts.Frozen, Threshold: ts.Threshold}
			if len(t.Segs) < len(g.Dims) {
				t.Segs = append(t.Segs, make([][]armStats, len(g.Dims)-len(t.Segs))...)
			}
			for i, b := range ts.Sketch {
				if len(b) > 0 {
					t.Sketch[i] = new(quantile.Sketch)
					if err := t.Sketch[i].UnmarshalBinary(b); err != nil {
						return err
					}
				}
			}
			g.Tests = append(g.Tests, t)
		}
		g.index()
		a.stages[g.Rollout] = g
		units := a.units[g.Env]
		if units == nil {
			units = map[string]unitRefs{}
			a.units[g.Env] = units
		}
		for i, k := range g.Keys {
			r := unitRef{g, int32(i)}
			refs, ok := units[k]
			if !ok {
				refs.first = r
			} else {
				refs.more = append(refs.more, r)
			}
			units[k] = refs
		}
	}
	return nil
}
