package report

import (
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/ramp-release/ramp/internal/rollout"
)

func join(xs []string) string { return strings.Join(xs, ", ") }

func hasPrefix(s, p string) bool { return strings.HasPrefix(s, p) }

func contains(s, sub string) bool { return strings.Contains(s, sub) }

// num writes a number without trailing zeros (5, 2.5, 0.1).
func num(x float64) string { return strconv.FormatFloat(x, 'f', -1, 64) }

// Stamp writes a time in UTC to the second, or a dash for the zero time.
func Stamp(t time.Time) string {
	if t.IsZero() {
		return "—"
	}
	return t.UTC().Format("2006-01-02 15:04:05 UTC")
}

// Span writes a duration rounded to the second ("1d2h30m"); nil is a dash.
func Span(d *rollout.Duration) string {
	if d == nil {
		return "—"
	}
	return rollout.Duration(time.Duration(*d).Round(time.Second)).String()
}

// Count writes a count of units in groups of three digits: 12 400.
func Count(x float64) string {
	n := int64(math.Round(x))
	neg := n < 0
	if neg {
		n = -n
	}
	s := strconv.FormatInt(n, 10)
	var b strings.Builder
	for i, r := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(' ')
		}
		b.WriteRune(r)
	}
	if neg {
		return "-" + b.String()
	}
	return b.String()
}

// String writes units per arm as "treatment / control".
func (u *ArmUnits) String() string {
	if u == nil {
		return "—"
	}
	return Count(u.Treatment) + " / " + Count(u.Control)
}

// Format writes a metric's figures by its kind: proportions as percentages
// (differences in percentage points), log-scale metrics back on their own scale
// (differences as percent changes), the rest with four significant digits.
type Format struct {
	// Kind and Transform are the metric definition's.
	Kind, Transform string
}

// Value writes an arm's value; nil is a dash.
func (f Format) Value(x *float64) string {
	if x == nil {
		return "—"
	}
	switch {
	case f.Kind == "proportion":
		return strconv.FormatFloat(*x*100, 'f', 2, 64) + " %"
	case f.Transform == "log":
		return strconv.FormatFloat(math.Exp(*x), 'g', 4, 64)
	}
	return strconv.FormatFloat(*x, 'g', 4, 64)
}

// Diff writes a difference with its sign; inf is the text of an unbounded side.
func (f Format) Diff(x *float64, inf string) string {
	if x == nil || math.IsInf(*x, 0) || math.IsNaN(*x) {
		return inf
	}
	var s string
	switch {
	case f.Kind == "proportion":
		s = strconv.FormatFloat(*x*100, 'f', 2, 64) + " pp"
	case f.Transform == "log":
		s = strconv.FormatFloat(math.Expm1(*x)*100, 'f', 1, 64) + " %"
	default:
		s = strconv.FormatFloat(*x, 'g', 3, 64)
	}
	if *x >= 0 {
		s = "+" + s
	}
	return s
}

// Interval writes "diff [lower, upper]".
func (f Format) Interval(d, lo, hi *float64) string {
	if d == nil {
		return "—"
	}
	return f.Diff(d, "?") + " [" + f.Diff(lo, "−∞") + ", " + f.Diff(hi, "+∞") + "]"
}

// pct writes a share as a percentage with one decimal.
func pct(x *float64) string {
	if x == nil {
		return "—"
	}
	return strconv.FormatFloat(*x*100, 'f', 1, 64) + " %"
}

// ppSigned writes a difference of shares in percentage points with its sign.
func ppSigned(x *float64) string {
	if x == nil {
		return "—"
	}
	s := strconv.FormatFloat(*x*100, 'f', 1, 64)
	if *x >= 0 {
		s = "+" + s
	}
	return s + " pp"
}

// cell escapes text for a Markdown table cell.
func cell(s string) string {
	s = strings.ReplaceAll(s, "|", `\|`)
	s = strings.ReplaceAll(s, "\r\n", " ")
	return strings.ReplaceAll(s, "\n", " ")
}

// code writes an identifier as inline code.
func code(s string) string {
	if s == "" {
		return "—"
	}
	return "`" + strings.ReplaceAll(s, "`", "'") + "`"
}
