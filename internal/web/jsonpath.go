package web

import (
	"bytes"
	"encoding/json"
	"regexp"
	"strconv"
	"strings"
)

// The evaluation core names invalid fields with paths such as
// flags["summarize"].rules[2].conditions[0].op. The editors show each problem next
// to the line of the document it points at; these functions find that line.

// pathStep is one step of a field path: an object member or an array index.
type pathStep struct {
	name  string
	index int // -1 for a member
}

// parsePath splits a field path into steps. It accepts bare names (a.b),
// quoted members (["x y"]) and indexes ([3]); anything else ends the path.
func parsePath(p string) []pathStep {
	var steps []pathStep
	for i := 0; i < len(p); {
		switch p[i] {
		case '.':
			i++
		case '[':
			end := strings.IndexByte(p[i:], ']')
			if end < 0 {
				return steps
			}
			inner := p[i+1 : i+end]
			if strings.HasPrefix(inner, `"`) {
				// A quoted member may contain ']': find the closing quote first.
				q := closingQuote(p, i+1)
				if q < 0 || q+1 >= len(p) || p[q+1] != ']' {
					return steps
				}
				name, err := strconv.Unquote(p[i+1 : q+1])
				if err != nil {
					return steps
				}
				steps = append(steps, pathStep{name: name, index: -1})
				i = q + 2
				continue
			}
			n, err := strconv.Atoi(inner)
			if err != nil {
				return steps
			}
			steps = append(steps, pathStep{index: n})
			i += end + 1
		default:
			j := i
			for j < len(p) && p[j] != '.' && p[j] != '[' {
				j++
			}
			steps = append(steps, pathStep{name: p[i:j], index: -1})
			i = j
		}
	}
	return steps
}

// closingQuote returns the index of the quote that closes the string starting at
// p[start] (a quote), honouring backslash escapes, or -1.
func closingQuote(p string, start int) int {
	for i := start + 1; i < len(p); i++ {
		switch p[i] {
		case '\\':
			i++
		case '"':
			return i
		}
	}
	return -1
}

// trimPath removes the leading steps that name the document itself (e.g.
// flags["summarize"]) so that the rest is relative to what the editor shows.
func trimPath(path, prefix string) string {
	if prefix == "" || !strings.HasPrefix(path, prefix) {
		return path
	}
	return strings.TrimPrefix(strings.TrimPrefix(path, prefix), ".")
}

// lineOf returns the 1-based line of doc where the deepest existing part of path
// begins (the member's key for object members), or 0 when not even its first step
// exists or the document is not JSON.
func lineOf(doc []byte, path string) int {
	steps := parsePath(path)
	if len(steps) == 0 {
		return 0
	}
	w := &pathWalker{doc: doc, dec: json.NewDecoder(bytes.NewReader(doc)), target: steps, bestOff: -1}
	w.dec.UseNumber()
	_ = w.value(0, true) // a malformed tail keeps what was found before it
	if w.bestOff < 0 {
		return 0
	}
	return 1 + bytes.Count(doc[:w.bestOff], []byte("\n"))
}

type pathWalker struct {
	doc       []byte
	dec       *json.Decoder
	target    []pathStep
	bestDepth int
	bestOff   int
}

// start returns the offset of the next token: the decoder's offset points just
// after the previous one, before separators and white space.
func (w *pathWalker) start() int {
	off := int(w.dec.InputOffset())
	for off < len(w.doc) {
		switch w.doc[off] {
		case ' ', '\t', '\r', '\n', ',', ':':
			off++
			continue
		}
		break
	}
	return off
}

func (w *pathWalker) record(depth, off int) {
	if depth > w.bestDepth {
		w.bestDepth, w.bestOff = depth, off
	}
}

// value reads one value at depth; onPath says whether the path so far matches.
func (w *pathWalker) value(depth int, onPath bool) error {
	tok, err := w.dec.Token()
	if err != nil {
		return err
	}
	delim, ok := tok.(json.Delim)
	if !ok {
		return nil
	}
	switch delim {
	case '{':
		for w.dec.More() {
			off := w.start()
			k, err := w.dec.Token()
			if err != nil {
				return err
			}
			key, _ := k.(string)
			match := onPath && depth < len(w.target) && w.target[depth].index < 0 && w.target[depth].name == key
			if match {
				w.record(depth+1, off)
			}
			if err := w.value(depth+1, match); err != nil {
				return err
			}
		}
	case '[':
		for i := 0; w.dec.More(); i++ {
			off := w.start()
			match := onPath && depth < len(w.target) && w.target[depth].index == i
			if match {
				w.record(depth+1, off)
			}
			if err := w.value(depth+1, match); err != nil {
				return err
			}
		}
	}
	_, err = w.dec.Token() // the closing delimiter
	return err
}

// parseLine finds "line N" in a parse error's message.
var parseLine = regexp.MustCompile(`\bline (\d+)\b`)

func lineInMessage(msg string) int {
	m := parseLine.FindStringSubmatch(msg)
	if m == nil {
		return 0
	}
	n, _ := strconv.Atoi(m[1])
	return n
}
