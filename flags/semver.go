package flags

import "strings"

// version is a parsed semantic version (https://semver.org, 2.0.0). A leading "v" is
// accepted; build metadata is ignored for precedence as the specification says.
type version struct {
	major, minor, patch uint64
	pre                 string
}

// parseSemver parses "1.2.3", "v1.2.3-rc.1+build" and, leniently, "1.2" or "1"
// (missing parts are zero), without allocating.
func parseSemver(s string) (version, bool) {
	var v version
	s = strings.TrimPrefix(s, "v")
	if i := strings.IndexByte(s, '+'); i >= 0 {
		s = s[:i]
	}
	if i := strings.IndexByte(s, '-'); i >= 0 {
		v.pre = s[i+1:]
		if v.pre == "" {
			return v, false
		}
		s = s[:i]
	}
	parts := [3]*uint64{&v.major, &v.minor, &v.patch}
	for i := 0; i < 3; i++ {
		n, rest, ok := parseUint(s)
		if !ok {
			return v, false
		}
		*parts[i] = n
		if rest == "" {
			return v, true
		}
		if rest[0] != '.' || i == 2 {
			return v, false
		}
		s = rest[1:]
	}
	return v, true
}

func parseUint(s string) (n uint64, rest string, ok bool) {
	i := 0
	for i < len(s) && s[i] >= '0' && s[i] <= '9' {
		if n > (1<<63)/10 {
			return 0, s, false
		}
		n = n*10 + uint64(s[i]-'0')
		i++
	}
	return n, s[i:], i > 0
}

// compareSemver orders a and b by semver precedence: -1, 0 or +1.
func compareSemver(a, b version) int {
	for _, d := range [3][2]uint64{{a.major, b.major}, {a.minor, b.minor}, {a.patch, b.patch}} {
		if d[0] != d[1] {
			if d[0] < d[1] {
				return -1
			}
			return 1
		}
	}
	switch {
	case a.pre == b.pre:
		return 0
	case a.pre == "": // a release ranks above its pre-releases
		return 1
	case b.pre == "":
		return -1
	}
	return comparePrerelease(a.pre, b.pre)
}

// comparePrerelease compares dot-separated identifiers: numeric ones numerically and
// below alphanumeric ones, alphanumeric ones in ASCII order, a shorter list first.
func comparePrerelease(a, b string) int {
	for a != "" && b != "" {
		var x, y string
		x, a, _ = strings.Cut(a, ".")
		y, b, _ = strings.Cut(b, ".")
		xn, xr, xok := parseUint(x)
		yn, yr, yok := parseUint(y)
		xNum, yNum := xok && xr == "", yok && yr == ""
		switch {
		case xNum && yNum:
			if xn != yn {
				if xn < yn {
					return -1
				}
				return 1
			}
		case xNum:
			return -1
		case yNum:
			return 1
		default:
			if c := strings.Compare(x, y); c != 0 {
				return c
			}
		}
	}
	switch {
	case a == "" && b == "":
		return 0
	case a == "":
		return -1
	}
	return 1
}
