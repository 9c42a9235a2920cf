package flags

import (
	"encoding/json"
	"math"
)

// instant is a point in time as Unix seconds and nanoseconds, for before and after.
// Comparing the pair is exact for every RFC 3339 time (years 0000 to 9999); Unix
// nanoseconds in an int64 would overflow after 2262, when "before 3000-01-01" should
// still hold.
type instant struct {
	sec  int64
	nsec int32
}

func (a instant) compare(b instant) int {
	switch {
	case a.sec < b.sec || a.sec == b.sec && a.nsec < b.nsec:
		return -1
	case a == b:
		return 0
	}
	return 1
}

// parseInstant reads an RFC 3339 time string or a number of Unix seconds (fractions
// allowed), the two forms before and after accept for operands and attributes.
func parseInstant(v any) (instant, bool) {
	if s, ok := v.(string); ok {
		return parseRFC3339(s)
	}
	if n, ok := v.(json.Number); ok {
		if i, err := n.Int64(); err == nil {
			return instant{sec: i}, true
		}
	}
	f, ok := toFloat(v)
	if !ok || math.IsNaN(f) {
		return instant{}, false
	}
	switch {
	case f >= math.MaxInt64:
		return instant{sec: math.MaxInt64}, true
	case f <= math.MinInt64:
		return instant{sec: math.MinInt64}, true
	}
	sec := math.Floor(f)
	nsec := int32(math.Round((f - sec) * 1e9))
	if nsec == 1e9 {
		sec, nsec = sec+1, 0
	}
	return instant{sec: int64(sec), nsec: nsec}, true
}

// parseRFC3339 parses YYYY-MM-DDTHH:MM:SS[.fraction](Z|±HH:MM) as RFC 3339 §5.6 defines
// it ('T' and 'Z' in either case; fraction digits beyond nanoseconds are ignored).
// It exists because time.Parse allocates a time.Location for every numeric offset,
// and evaluation must not allocate.
func parseRFC3339(s string) (instant, bool) {
	if len(s) < len("2006-01-02T15:04:05Z") || s[4] != '-' || s[7] != '-' ||
		s[10] != 'T' && s[10] != 't' || s[13] != ':' || s[16] != ':' {
		return instant{}, false
	}
	year, ok1 := digits(s[0:4])
	month, ok2 := digits(s[5:7])
	day, ok3 := digits(s[8:10])
	hour, ok4 := digits(s[11:13])
	minute, ok5 := digits(s[14:16])
	second, ok6 := digits(s[17:19])
	if !(ok1 && ok2 && ok3 && ok4 && ok5 && ok6) ||
		month < 1 || month > 12 || day < 1 || day > daysIn(month, year) ||
		hour > 23 || minute > 59 || second > 59 {
		return instant{}, false
	}
	rest := s[19:]
	var nsec int32
	if rest[0] == '.' {
		n, used := 1, 0
		for ; n < len(rest) && rest[n] >= '0' && rest[n] <= '9'; n++ {
			if used < 9 {
				nsec = nsec*10 + int32(rest[n]-'0')
				used++
			}
		}
		if n == 1 {
			return instant{}, false
		}
		for ; used < 9; used++ {
			nsec *= 10
		}
		rest = rest[n:]
	}
	var offset int64
	switch {
	case rest == "Z" || rest == "z":
	case len(rest) == 6 && (rest[0] == '+' || rest[0] == '-') && rest[3] == ':':
		oh, ok1 := digits(rest[1:3])
		om, ok2 := digits(rest[4:6])
		if !ok1 || !ok2 || oh > 23 || om > 59 {
			return instant{}, false
		}
		offset = int64(oh*3600 + om*60)
		if rest[0] == '-' {
			offset = -offset
		}
	default:
		return instant{}, false
	}
	sec := daysFromCivil(year, month, day)*86400 + int64(hour*3600+minute*60+second) - offset
	return instant{sec: sec, nsec: nsec}, true
}

// digits parses a fixed-width run of ASCII digits.
func digits(s string) (int, bool) {
	n := 0
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, false
		}
		n = n*10 + int(s[i]-'0')
	}
	return n, true
}

func daysIn(month, year int) int {
	switch month {
	case 2:
		if year%4 == 0 && (year%100 != 0 || year%400 == 0) {
			return 29
		}
		return 28
	case 4, 6, 9, 11:
		return 30
	}
	return 31
}

// daysFromCivil is the number of days from 1970-01-01 to the given proleptic Gregorian
// date (Howard Hinnant's days_from_civil).
func daysFromCivil(y, m, d int) int64 {
	if m <= 2 {
		y--
	}
	era := y / 400
	if y < 0 && y%400 != 0 {
		era--
	}
	yoe := y - era*400
	mp := (m + 9) % 12
	doy := (153*mp+2)/5 + d - 1
	doe := yoe*365 + yoe/4 - yoe/100 + doy
	return int64(era)*146097 + int64(doe) - 719468
}
