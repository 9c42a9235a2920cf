package ingest_test

import (
	"bytes"
	"encoding/json"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/ramp-release/ramp/events"
	"github.com/ramp-release/ramp/internal/ingest"
)

var decodeSeeds = []string{
	`{"batch_id":"b1","sent_at":"2026-03-02T09:00:00.123Z","sdk":"go/1","events":[{"kind":"exposure","time":"2026-03-02T09:00:00Z","unit":"u1","flag":"f","variant":"on","flag_version":3,"rule_id":"rollout.ring.treatment","rule_index":2,"rollout":"ro_1","stage":"ring-5","arm":"treatment","dimensions":{"country":"DE","plan":"pro"}},{"kind":"metric","time":"2026-03-02T09:00:01.5Z","unit":"u1","metric":"rating","value":4.5e0,"comment":"nice ünïcode"}],"dropped":0}`,
	` { "batch_id" : "b2" , "events" : [ { "kind" : "metric" , "time" : "2026-03-02T10:00:00+02:00" , "unit" : "u" , "metric" : "m" , "value" : -0.25 } ] } `,
	`{"batch_id":"b3","events":[{"kind":"metric","time":"2026-03-02T09:00:00Z","unit":"u","metric":"m","value":null,"dimensions":null}]}`,
	`{"batch_id":"esc\"aped","events":[]}`,
	`{"batch_id":"b","events":[{"kind":"metric","Unit":"case"}]}`,
	`{"batch_id":"b","batch_id":"dup","events":[]}`,
	`{"batch_id":"b","events":[{"kind":"metric","value":01}]}`,
	`{"batch_id":"b","events":[{"kind":"metric","value":1,"extra":true}]}`,
	`{"batch_id":"b","events":[]} trailing`,
	`{"batch_id":"b","events":[{"time":"2026-02-30T09:00:00Z"}]}`,
	`{"batch_id":"b","events":[{"dimensions":{"a":"1","a":"2"}}]}`,
	"{\"batch_id\":\"\xff\",\"events\":[]}",
}

// checkDecode checks that whatever FastDecodeBatch accepts, encoding/json (with
// unknown fields refused, like the server) decodes to the same batch.
func checkDecode(t *testing.T, doc []byte) {
	var fast events.Batch
	if err := ingest.FastDecodeBatch(doc, &fast); err != nil {
		return
	}
	var slow events.Batch
	dec := json.NewDecoder(bytes.NewReader(doc))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&slow); err != nil {
		t.Fatalf("FastDecodeBatch accepted what encoding/json refuses (%v):\n%s", err, doc)
	}
	if dec.More() {
		t.Fatalf("FastDecodeBatch accepted trailing data:\n%s", doc)
	}
	if diff := cmp.Diff(slow, fast); diff != "" {
		t.Fatalf("FastDecodeBatch differs from encoding/json (-json +fast):\n%s\n%s", diff, doc)
	}
}

func TestFastDecodeAgreesWithEncodingJSON(t *testing.T) {
	accepted := 0
	for _, s := range decodeSeeds {
		checkDecode(t, []byte(s))
		var b events.Batch
		if ingest.FastDecodeBatch([]byte(s), &b) == nil {
			accepted++
		}
		var any events.Batch
		if err := ingest.DecodeBatch([]byte(s), &any); err == nil && json.Valid([]byte(s)) && any.BatchID == "" {
			t.Errorf("DecodeBatch lost the batch id of %s", s)
		}
	}
	if accepted != 3 {
		t.Errorf("the fast path accepted %d seeds; want the 3 plain ones", accepted)
	}
}

func FuzzFastDecode(f *testing.F) {
	for _, s := range decodeSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(checkDecode)
}
