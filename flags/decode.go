package flags

// DecodeJSON decodes one JSON document into v the way flag documents are decoded:
// unknown fields are rejected and numbers stay exact (json.Number) until [Normalize]
// types them. Errors are *ParseError values naming the line and column. The server
// uses it for every request body so that all of ramp reports bad JSON alike.
func DecodeJSON(data []byte, v any) error { return decodeStrict(data, v) }
