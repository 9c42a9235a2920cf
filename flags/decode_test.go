package flags

import (
	"encoding/json"
	"errors"
	"net/netip"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

type embeddedBase struct {
	ID      string `json:"id"`
	Comment string `json:"comment,omitempty"`
}

type hiddenBase struct {
	Owner string `json:"owner"`
}

type PointerBase struct {
	Region string `json:"region"`
}

// requestBody has the kinds of fields the server's and the CLI's documents use.
type requestBody struct {
	embeddedBase
	hiddenBase
	*PointerBase
	Name     string            `json:"name"`
	Comment  int               `json:"comment"` // shadows embeddedBase.Comment
	At       time.Time         `json:"at"`
	Until    *time.Time        `json:"until,omitempty"`
	Raw      json.RawMessage   `json:"raw,omitempty"`
	Blob     []byte            `json:"blob,omitempty"`
	Addr     netip.Addr        `json:"addr,omitzero"`
	Count    int64             `json:"count,string,omitempty"`
	Ratio    float64           `json:"ratio"`
	Pair     [2]int            `json:"pair"`
	ByNumber map[int]string    `json:"by_number,omitempty"`
	Any      any               `json:"any"`
	Labels   map[string]string `json:"labels"`
	Untagged string
	Skipped  string `json:"-"`
	Dash     string `json:"-,"`
	private  string
}

func TestDecodeJSONHandlesTheTypesRequestBodiesUse(t *testing.T) {
	doc := `{"id": "r1", "owner": "ann", "region": "eu", "name": "n", "comment": 3,
		"at": "2026-12-01T09:00:00Z", "until": "2026-12-02T09:00:00+01:00",
		"raw": {"any": ["thing", 1]}, "blob": "aGk=", "addr": "10.0.0.1", "count": "42",
		"ratio": 0.5, "pair": [1, 2], "by_number": {"7": "seven"}, "any": {"x": [1, {"y": null}]},
		"labels": {"a": "b"}, "untagged": "lower case is fine for an untagged field", "-": "dash"}`
	var got requestBody
	if err := DecodeJSON([]byte(doc), &got); err != nil {
		t.Fatalf("DecodeJSON: %v", err)
	}
	until := time.Date(2026, 12, 2, 8, 0, 0, 0, time.UTC)
	if got.ID != "r1" || got.Owner != "ann" || got.PointerBase == nil || got.Region != "eu" || got.Comment != 3 || !got.At.Equal(time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)) ||
		got.Until == nil || !got.Until.Equal(until) || string(got.Raw) != `{"any": ["thing", 1]}` || string(got.Blob) != "hi" ||
		got.Addr != netip.MustParseAddr("10.0.0.1") || got.Count != 42 || got.Ratio != 0.5 || got.Pair != [2]int{1, 2} ||
		got.ByNumber[7] != "seven" || got.Untagged == "" || got.Dash != "dash" {
		t.Errorf("DecodeJSON decoded %+v", got)
	}
	tests := []struct {
		name string
		doc  string
		want ParseError
	}{
		{"a time that is not a string", `{"at": 5}`,
			ParseError{Offset: 7, Line: 1, Column: 8, Path: "at", Msg: "Time.UnmarshalJSON: input is not a JSON string"}},
		{"a time that is not RFC 3339", "{\n  \"until\": \"tomorrow\"}",
			ParseError{Offset: 13, Line: 2, Column: 12, Path: "until", Msg: timeParseMessage("tomorrow")}},
		{"an address that is not one", `{"addr": "10.0.0"}`,
			ParseError{Offset: 9, Line: 1, Column: 10, Path: "addr", Msg: `ParseAddr("10.0.0"): IPv4 address too short`}},
		{"bytes that are not base64", `{"blob": "***"}`,
			ParseError{Offset: 9, Line: 1, Column: 10, Path: "blob", Msg: `illegal base64 data at input byte 0`}},
		{"a tagged field spelt with capitals", `{"Name": "n"}`,
			ParseError{Offset: 1, Line: 1, Column: 2, Msg: `unknown field "Name" (did you mean "name"? field names are lower case)`}},
		{"a hidden field", `{"Skipped": "x"}`,
			ParseError{Offset: 1, Line: 1, Column: 2, Msg: `unknown field "Skipped"; the fields here are "-", "Untagged", "addr", "any", "at", "blob", "by_number", "comment", "count", "id", "labels", "name", "owner", "pair", "ratio", "raw", "region", "until"`}},
		{"a float given a string", `{"ratio": "0.5"}`,
			ParseError{Offset: 10, Line: 1, Column: 11, Path: "ratio", Msg: `expected a number, not the string "0.5"`}},
		{"an array given an object", `{"pair": {}}`,
			ParseError{Offset: 9, Line: 1, Column: 10, Path: "pair", Msg: `expected a list, not an object`}},
		{"a repeated key inside a raw message", `{"raw": {"a": 1, "a": 2}}`,
			ParseError{Offset: 17, Line: 1, Column: 18, Path: `raw`, Msg: `"a" appears twice in this object; keep one`}},
		{"a string-tagged number that is not a number", `{"count": "many"}`,
			ParseError{Msg: `invalid use of ,string struct tag, trying to unmarshal "many" into int64`}},
		{"a promoted field of the wrong kind", `{"owner": 1}`,
			ParseError{Offset: 10, Line: 1, Column: 11, Path: "owner", Msg: `expected a string, not the number 1`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var body requestBody
			err := DecodeJSON([]byte(tt.doc), &body)
			var pe *ParseError
			if !errors.As(err, &pe) {
				t.Fatalf("DecodeJSON = %v (%T), want a *ParseError", err, err)
			}
			if diff := cmp.Diff(tt.want, *pe); diff != "" {
				t.Errorf("ParseError (-want +got):\n%s", diff)
			}
		})
	}
}

func TestDecodeJSONIntoAnyAndBadTargets(t *testing.T) {
	var v any
	if err := DecodeJSON([]byte(`{"a": [1, 2.5, "x"]}`), &v); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(map[string]any{"a": []any{json.Number("1"), json.Number("2.5"), "x"}}, v); diff != "" {
		t.Errorf("decoded (-want +got):\n%s", diff)
	}
	if err := DecodeJSON([]byte(`{"a": 1, "a": 2}`), &v); err == nil {
		t.Error("a repeated key should be rejected when decoding into any")
	}
	var notPointer requestBody
	if err := DecodeJSON([]byte(`{}`), notPointer); err == nil {
		t.Error("decoding into a non-pointer should fail, not panic")
	}
	if err := DecodeJSON([]byte(`{}`), (*requestBody)(nil)); err == nil {
		t.Error("decoding into a nil pointer should fail, not panic")
	}
	if err := DecodeJSON([]byte(`{}`), nil); err == nil {
		t.Error("decoding into nil should fail, not panic")
	}
}

// timeParseMessage is time.Time's own complaint about s.
func timeParseMessage(s string) string {
	_, err := time.Parse(time.RFC3339, s)
	return err.Error()
}
