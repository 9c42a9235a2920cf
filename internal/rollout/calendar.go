package rollout

import (
	"fmt"
	"strings"
	"time"
)

// This file interprets windows and blackouts. Everything here is a pure function of
// its arguments: the zone comes from the plan's Location, never from the machine.

var weekdayNames = map[string]time.Weekday{
	"sun": time.Sunday, "mon": time.Monday, "tue": time.Tuesday, "wed": time.Wednesday,
	"thu": time.Thursday, "fri": time.Friday, "sat": time.Saturday,
}

// parseDays turns a window's day list into a set of weekdays.
func parseDays(days []string) ([7]bool, error) {
	var set [7]bool
	if len(days) == 0 {
		return set, fmt.Errorf("no days; list days such as [\"mon-thu\"] or [\"weekdays\"]")
	}
	for _, d := range days {
		d = strings.ToLower(strings.TrimSpace(d))
		switch d {
		case "weekdays":
			for w := time.Monday; w <= time.Friday; w++ {
				set[w] = true
			}
			continue
		case "weekends":
			set[time.Saturday], set[time.Sunday] = true, true
			continue
		case "every day", "daily", "all":
			set = [7]bool{true, true, true, true, true, true, true}
			continue
		}
		from, to, isRange := strings.Cut(d, "-")
		a, okA := weekdayNames[shortDay(from)]
		b, okB := a, okA
		if isRange {
			b, okB = weekdayNames[shortDay(to)]
		}
		if !okA || !okB {
			return set, fmt.Errorf("%q is not a day; use mon, tue, wed, thu, fri, sat, sun, a range such as \"mon-thu\", or \"weekdays\"", d)
		}
		for w := a; ; w = (w + 1) % 7 {
			set[w] = true
			if w == b {
				break
			}
		}
	}
	return set, nil
}

// shortDay accepts "monday" as well as "mon".
func shortDay(s string) string {
	s = strings.TrimSpace(s)
	if len(s) > 3 {
		return s[:3]
	}
	return s
}

// parseClock reads "HH:MM" into minutes after midnight; "24:00" is the end of the day.
func parseClock(s string) (int, error) {
	var h, m int
	if n, err := fmt.Sscanf(s, "%d:%d", &h, &m); err != nil || n != 2 || len(s) != 5 || h < 0 || h > 24 || m < 0 || m > 59 || (h == 24 && m != 0) {
		return 0, fmt.Errorf("%q is not a time of day; write it as \"HH:MM\", e.g. \"09:00\"", s)
	}
	return h*60 + m, nil
}

type window struct {
	days     [7]bool
	from, to int // minutes after midnight
}

func (w Window) parse() (window, error) {
	days, err := parseDays(w.Days)
	if err != nil {
		return window{}, err
	}
	from, err := parseClock(w.From)
	if err != nil {
		return window{}, fmt.Errorf("from: %w", err)
	}
	to, err := parseClock(w.To)
	if err != nil {
		return window{}, fmt.Errorf("to: %w", err)
	}
	if from == to {
		return window{}, fmt.Errorf("from and to are both %s; the window would be empty", w.From)
	}
	return window{days, from, to}, nil
}

// contains reports whether t (already in the plan's zone) falls in the window. A
// window that crosses midnight belongs to the day it starts on.
func (w window) contains(t time.Time) bool {
	m := t.Hour()*60 + t.Minute()
	day := t.Weekday()
	if w.from < w.to {
		return w.days[day] && m >= w.from && m < w.to
	}
	return w.days[day] && m >= w.from || w.days[(day+6)%7] && m < w.to
}

// location returns the zone of the plan's windows and date-only blackouts, or nil
// when it is not resolved.
func (p *Plan) location() *time.Location {
	switch {
	case p.Location != nil:
		return p.Location
	case p.TimeZone == "" || p.TimeZone == "UTC":
		return time.UTC
	}
	return nil
}

// InWindow reports whether t falls in one of the plan's advancement windows (always
// true without windows). ok is false when the plan's zone is not resolved or a
// window does not parse: callers then treat the window as closed.
func (p *Plan) InWindow(t time.Time) (in, ok bool) {
	if len(p.Windows) == 0 {
		return true, true
	}
	loc := p.location()
	if loc == nil {
		return false, false
	}
	local := t.In(loc)
	for _, w := range p.Windows {
		pw, err := w.parse()
		if err != nil {
			return false, false
		}
		if pw.contains(local) {
			return true, true
		}
	}
	return false, true
}

// NextWindow returns the next time at or after t at which a window opens, searching
// eight days ahead; zero when there is none or the zone is not resolved.
func (p *Plan) NextWindow(t time.Time) time.Time {
	loc := p.location()
	if loc == nil || len(p.Windows) == 0 {
		return time.Time{}
	}
	local := t.In(loc)
	var best time.Time
	for _, w := range p.Windows {
		pw, err := w.parse()
		if err != nil {
			continue
		}
		for d := 0; d <= 8; d++ {
			day := time.Date(local.Year(), local.Month(), local.Day()+d, 0, 0, 0, 0, loc)
			if !pw.days[day.Weekday()] {
				continue
			}
			open := time.Date(day.Year(), day.Month(), day.Day(), pw.from/60, pw.from%60, 0, 0, loc)
			if open.Before(t) {
				continue
			}
			if best.IsZero() || open.Before(best) {
				best = open
			}
			break
		}
	}
	return best
}

// span returns the blackout as the half-open interval [from, to).
func (b Blackout) span(loc *time.Location) (from, to time.Time, err error) {
	from, err = parseInstant(b.From, loc, false)
	if err != nil {
		return from, to, fmt.Errorf("from: %w", err)
	}
	to, err = parseInstant(b.To, loc, true)
	if err != nil {
		return from, to, fmt.Errorf("to: %w", err)
	}
	if !from.Before(to) {
		return from, to, fmt.Errorf("from %s is not before to %s", b.From, b.To)
	}
	return from, to, nil
}

// parseInstant reads an RFC 3339 time, or a date in loc. A date that ends a period
// includes its whole day, so it means midnight of the next day.
func parseInstant(s string, loc *time.Location, end bool) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t, nil
	}
	d, err := time.Parse(time.DateOnly, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("%q is neither a date (2026-11-26) nor an RFC 3339 time (2026-11-26T00:00:00Z)", s)
	}
	if loc == nil {
		return time.Time{}, fmt.Errorf("%q is a date but the plan's time zone is not resolved; validate the plan", s)
	}
	if end {
		d = d.AddDate(0, 0, 1)
	}
	return time.Date(d.Year(), d.Month(), d.Day(), 0, 0, 0, 0, loc), nil
}

// ActiveBlackout returns the blackout t falls in and when it ends. ok is false when a
// blackout cannot be interpreted (unresolved zone): callers treat that as a
// blackout, so a broken calendar never lets a rollout advance.
func (p *Plan) ActiveBlackout(t time.Time) (b Blackout, end time.Time, in, ok bool) {
	loc := p.location()
	for _, b := range p.Blackouts {
		from, to, err := b.span(loc)
		if err != nil {
			return b, time.Time{}, true, false
		}
		if !t.Before(from) && t.Before(to) {
			return b, to, true, true
		}
	}
	return Blackout{}, time.Time{}, false, true
}
