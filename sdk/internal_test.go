package sdk

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"regexp"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/google/go-cmp/cmp"

	"github.com/ramp-release/ramp/events"
	"github.com/ramp-release/ramp/flags"
)

func TestDedupReportsOncePerWindow(t *testing.T) {
	d := newDedup(1000, int64(time.Second))
	h := exposureHash("user-1", "flag", "on", 3)
	ms := int64(time.Millisecond)
	steps := []struct {
		at   int64
		want bool
	}{{0, true}, {10 * ms, false}, {900 * ms, false}, {1100 * ms, true}, {1500 * ms, false}, {2200 * ms, true}}
	for _, s := range steps {
		if got := d.firstIn(h, s.at); got != s.want {
			t.Errorf("at %v: firstIn %v, want %v", time.Duration(s.at), got, s.want)
		}
	}
	if got := d.deduplicated(); got != 3 {
		t.Errorf("deduplicated %d, want 3", got)
	}
}

func TestExposureHashSeparatesItsParts(t *testing.T) {
	base := exposureHash("u", "f", "v", 1)
	for _, other := range []uint64{
		exposureHash("f", "u", "v", 1), exposureHash("u", "v", "f", 1),
		exposureHash("u", "f", "v", 2), exposureHash("u2", "f", "v", 1), exposureHash("u", "f", "w", 1),
	} {
		if other == base {
			t.Error("two different exposures share a hash")
		}
	}
}

func TestDedupIsBoundedAndEvictsTheLeastRecentlyUsed(t *testing.T) {
	d := newDedup(100_000, int64(time.Hour))
	if c := d.capacity(); c < 100_000 || c > 101_000 {
		t.Fatalf("capacity %d for 100 000 entries", c)
	}
	// Hashes of shard 0, set 0, with distinct fingerprints: one set, past its ways.
	var inSet []uint64
	for i := uint64(1); len(inSet) < dedupWays+1; i++ {
		inSet = append(inSet, i<<1)
	}
	ms := int64(time.Millisecond)
	for i, h := range inSet[:dedupWays] {
		d.firstIn(h, int64(i+1)*100*ms)
	}
	d.firstIn(inSet[0], 1000*ms) // a hit: inSet[0] is now the most recently used
	if !d.firstIn(inSet[dedupWays], 1100*ms) {
		t.Fatal("a new exposure was not recorded")
	}
	if d.firstIn(inSet[0], 1200*ms) {
		t.Error("the most recently used entry was evicted")
	}
	if !d.firstIn(inSet[1], 1300*ms) {
		t.Error("the least recently used entry survived")
	}
	// Every slot used: a sweep clears the marks and the oldest goes.
	d2 := newDedup(100, int64(time.Hour))
	for i, h := range inSet[:dedupWays] {
		d2.firstIn(h, int64(i+1)*100*ms)
		d2.firstIn(h, int64(i+1)*100*ms+ms)
	}
	d2.firstIn(inSet[dedupWays], 2000*ms)
	if !d2.firstIn(inSet[0], 2100*ms) || d2.firstIn(inSet[dedupWays-1], 2200*ms) {
		t.Error("with every slot used, the oldest was not the one evicted")
	}
}

func TestChangedKeys(t *testing.T) {
	flag := func(v int64, seg string) *flags.Flag {
		f := &flags.Flag{Type: flags.TypeBool, Enabled: true, Version: v, Variants: map[string]any{"on": true}, Default: &flags.Allocation{Variant: "on"}}
		if seg != "" {
			f.Rules = []flags.Rule{{Conditions: []flags.Condition{{Op: flags.OpInSegment, Segment: seg}}, Serve: flags.Allocation{Variant: "on"}}}
		}
		return f
	}
	old := &flags.Set{
		Flags: map[string]*flags.Flag{"same": flag(1, ""), "edited": flag(1, ""), "removed": flag(1, ""), "via-seg": flag(1, "outer"), "other-seg": flag(1, "other")},
		Segments: map[string]*flags.Segment{
			"inner": {Included: []string{"a"}},
			"outer": {Rules: []flags.SegmentRule{{Conditions: []flags.Condition{{Op: flags.OpInSegment, Segment: "inner"}}}}},
			"other": {Included: []string{"z"}},
		},
	}
	new := &flags.Set{
		Flags: map[string]*flags.Flag{"same": flag(1, ""), "edited": flag(2, ""), "added": flag(1, ""), "via-seg": flag(1, "outer"), "other-seg": flag(1, "other")},
		Segments: map[string]*flags.Segment{
			"inner": {Included: []string{"b"}},
			"outer": old.Segments["outer"],
			"other": {Included: []string{"z"}},
		},
	}
	want := []string{"added", "edited", "removed", "via-seg"}
	if diff := cmp.Diff(want, changedKeys(old, new)); diff != "" {
		t.Errorf("(-want +got)\n%s", diff)
	}
	if diff := cmp.Diff([]string{"added", "edited", "other-seg", "same", "via-seg"}, changedKeys(nil, new)); diff != "" {
		t.Errorf("first snapshot (-want +got)\n%s", diff)
	}
}

func TestDecodeDocument(t *testing.T) {
	good := `{"environment":"prod","revision":7,"flags":{"f":{"type":"bool","enabled":true,"variants":{"on":true},"default":{"variant":"on"}}}}`
	cur, err := decodeDocument([]byte(good))
	if err != nil || cur.environment != "prod" || cur.revision != 7 || cur.snap == nil {
		t.Fatalf("good document: %+v, %v", cur, err)
	}
	for name, doc := range map[string]string{
		"empty":           ``,
		"not JSON":        `{not json`,
		"cut short":       good[:len(good)/2],
		"no flags":        `{"environment":"prod","revision":7}`,
		"null flags":      `{"environment":"prod","revision":7,"flags":null}`,
		"unknown field":   `{"environment":"prod","revision":7,"flags":{},"extra":1}`,
		"trailing data":   good + `{}`,
		"invalid flag":    `{"environment":"prod","flags":{"f":{"type":"bool","enabled":true,"variants":{"on":"yes"}}}}`,
		"misspelt field":  `{"environment":"prod","flags":{"f":{"type":"bool","enabeld":true,"variants":{"on":true}}}}`,
		"unknown segment": `{"environment":"prod","flags":{"f":{"type":"bool","enabled":true,"variants":{"on":true},"rules":[{"conditions":[{"op":"in_segment","segment":"nope"}],"serve":{"variant":"on"}}]}}}`,
	} {
		if cur, err := decodeDocument([]byte(doc)); err == nil || (cur != nil && cur.snap != nil) {
			t.Errorf("%s: accepted", name)
		}
	}
}

func TestBackoffStaysInItsBounds(t *testing.T) {
	lo, hi := 100*time.Millisecond, 2*time.Second
	for attempt := range 40 {
		want := min(lo<<min(attempt, 30), hi)
		for range 50 {
			if d := backoff(lo, hi, attempt); d < want/2 || d > want {
				t.Fatalf("attempt %d: %v outside [%v, %v]", attempt, d, want/2, want)
			}
		}
	}
}

func TestTruncateKeepsRunesWhole(t *testing.T) {
	s := strings.Repeat("é", 200) // 400 bytes
	got := truncate(s, 255)
	if len(got) > 255 || !utf8.ValidString(got) || len(got) != 254 {
		t.Errorf("%d bytes, valid %v", len(got), utf8.ValidString(got))
	}
	if truncate("short", 255) != "short" {
		t.Error("a short string changed")
	}
}

func TestBatchIDsAreRandomUUIDs(t *testing.T) {
	re := regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)
	seen := map[string]bool{}
	for range 1000 {
		id := newBatchID()
		if !re.MatchString(id) || seen[id] {
			t.Fatalf("batch id %q", id)
		}
		seen[id] = true
	}
}

func TestQueueKeepsTheContextsDimensions(t *testing.T) {
	q := newQueue(4, 10, []string{"country", "plan", "score", "beta"})
	ctx := flags.Context{Key: "u", Attributes: map[string]any{"country": "DE", "score": 4.5, "beta": true, "plan": []string{"x"}}}
	for i := range 6 {
		q.push(&pending{unit: fmt.Sprint(i), flag: "f", variant: "on"}, &ctx)
	}
	if q.len() != 4 || q.droppedTotal.Load() != 2 {
		t.Fatalf("len %d, dropped %d", q.len(), q.droppedTotal.Load())
	}
	evs := q.take(3)
	want := map[string]string{"country": "DE", "score": "4.5", "beta": "true"}
	if len(evs) != 3 || evs[0].Unit != "0" || !cmp.Equal(evs[2].Dimensions, want) {
		t.Errorf("took %+v", evs)
	}
	q.push(&pending{unit: "late"}, nil)
	evs = q.take(10)
	if len(evs) != 2 || evs[1].Unit != "late" || evs[1].Dimensions != nil {
		t.Errorf("took %+v", evs)
	}
}

func TestSSEReader(t *testing.T) {
	stream := ": connected\r\n\r\nevent: snapshot\nid: 7\ndata: {\"a\":\ndata:1}\n\n: heartbeat\n\nevent: other\ndata: x\n\nevent: snapshot\ndata: last"
	r := &sseReader{br: bufio.NewReader(strings.NewReader(stream))}
	type msg struct {
		Event string
		Data  string
		Nil   bool
	}
	var got []msg
	for {
		ev, data, err := r.next()
		if err != nil {
			break
		}
		got = append(got, msg{ev, string(data), data == nil})
	}
	want := []msg{{"", "", true}, {"snapshot", "{\"a\":\n1}", false}, {"", "", true}, {"other", "x", false}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got)\n%s", diff) // the unterminated last message is not dispatched
	}
}

func FuzzSSEReader(f *testing.F) {
	f.Add([]byte(": connected\n\nevent: snapshot\nid: 3\ndata: {}\n\n"))
	f.Add([]byte("data\n\ndata:\n\n:\n\nevent:\r\n\r\n"))
	f.Add([]byte("event: snapshot\ndata: a\ndata: b\n\n\n\n"))
	f.Fuzz(func(t *testing.T, in []byte) {
		r := &sseReader{br: bufio.NewReaderSize(bytes.NewReader(in), 16)}
		total := 0
		for {
			_, data, err := r.next()
			if err != nil {
				break
			}
			total += len(data)
		}
		if total > len(in) {
			t.Fatalf("read %d bytes of data from %d bytes of stream", total, len(in))
		}
	})
}

func FuzzDecodeDocument(f *testing.F) {
	f.Add([]byte(`{"environment":"p","revision":1,"flags":{"f":{"type":"bool","enabled":true,"variants":{"on":true},"default":{"variant":"on"}}}}`))
	f.Add([]byte(`{"flags":{"s":{"type":"string","enabled":true,"variants":{"a":"x","b":"y"},"rules":[{"conditions":[{"attribute":"country","op":"in","values":["DE"]}],"serve":{"variant":"b"}}],"default":{"split":[{"variant":"a","weight":50000},{"variant":"b","weight":50000}]}}},"segments":{}}`))
	f.Add([]byte(`{"flags":null}`))
	f.Fuzz(func(t *testing.T, in []byte) {
		cur, err := decodeDocument(in)
		if err != nil {
			if cur != nil && cur.snap != nil {
				t.Fatal("an error came with a snapshot")
			}
			return
		}
		// A document that is accepted compiles and evaluates every flag without a
		// general error, for a context with and without a unit key.
		for _, key := range cur.snap.Keys() {
			for _, ctx := range []flags.Context{{}, {Key: "u", Attributes: map[string]any{"country": "DE"}}} {
				if r := cur.snap.Evaluate(key, ctx); r.ErrorCode == flags.ErrGeneral {
					t.Fatalf("flag %s: %s", key, r.ErrorMessage)
				}
			}
		}
	})
}

func TestAppendBatchMatchesJSON(t *testing.T) {
	v, zero, neg, big, tiny := 812.5, 0.0, -3.0, 1e21, 1.5e-9
	at := time.Date(2026, 3, 1, 12, 0, 0, 123456789, time.UTC)
	batches := []events.Batch{
		{BatchID: "b1", Events: []events.Event{}},
		{BatchID: "b2", SentAt: at, SDK: sdkName, Dropped: 16, Events: []events.Event{
			{Kind: events.KindExposure, Time: at, Unit: "user-1", Flag: "summarize", Variant: "on", FlagVersion: 4,
				RuleID: "ring", RuleIndex: 2, Rollout: "r-42", Stage: "ring-5", Arm: "treatment", Dimensions: map[string]string{"country": "DE"}},
			{Kind: events.KindExposure, Time: at.In(time.FixedZone("x", 3600)), Unit: "user-2", Flag: "f", Variant: "v", RuleIndex: -1},
			{Kind: events.KindMetric, Time: at, Unit: "u\"\\\n\t<&>\u2028\x01é\xff", Metric: "latency_ms", Value: &v, Comment: "fine"},
			{Kind: events.KindMetric, Time: at, Unit: "u", Metric: "m", Value: &zero},
			{Kind: events.KindMetric, Time: at, Unit: "u", Metric: "m", Value: &neg},
			{Kind: events.KindMetric, Time: at, Unit: "u", Metric: "m", Value: &big},
			{Kind: events.KindMetric, Time: at, Unit: "u", Metric: "m", Value: &tiny},
		}},
	}
	for _, b := range batches {
		want, err := json.Marshal(&b)
		if err != nil {
			t.Fatal(err)
		}
		if got := appendBatch(nil, &b); string(got) != string(want) {
			t.Errorf("appendBatch\n got %s\nwant %s", got, want)
		}
	}
}

func FuzzAppendString(f *testing.F) {
	for _, s := range []string{"", "plain", "quote\" slash\\ nl\n", "<&>", "\u2028\u2029", "\xff\xfe", "é🙂", "\x00\x1f\x7f"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		want, _ := json.Marshal(s)
		if got := appendString(nil, s); string(got) != string(want) {
			t.Fatalf("appendString(%q) = %s, want %s", s, got, want)
		}
	})
}

func FuzzAppendFloat(f *testing.F) {
	for _, x := range []float64{0, 1, -1, 0.1, 812.5, 1e20, 1e21, 1e-6, 1e-7, 123456789.125, -2.5e-300} {
		f.Add(x)
	}
	f.Fuzz(func(t *testing.T, x float64) {
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return
		}
		want, _ := json.Marshal(x)
		if got := appendFloat(nil, x); string(got) != string(want) {
			t.Fatalf("appendFloat(%v) = %s, want %s", x, got, want)
		}
	})
}
