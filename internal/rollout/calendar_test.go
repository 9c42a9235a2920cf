package rollout

import (
	"testing"
	"time"
)

func TestWindowsAreReadInThePlansZone(t *testing.T) {
	berlin := &Plan{TimeZone: "Europe/Berlin", Windows: []Window{{Days: []string{"mon-thu"}, From: "09:00", To: "16:00"}}}
	mustValidate(t, withStages(berlin))
	night := &Plan{Windows: []Window{{Days: []string{"fri"}, From: "22:00", To: "02:00"}}}
	weekend := &Plan{Windows: []Window{{Days: []string{"weekends"}, From: "00:00", To: "24:00"}}}
	sunThu := &Plan{Windows: []Window{{Days: []string{"sunday-tuesday", "thu"}, From: "10:00", To: "11:00"}}}
	tests := []struct {
		name string
		p    *Plan
		at   time.Time
		want bool
	}{
		{"Monday 08:30 UTC is 09:30 in Berlin in winter: open", berlin, time.Date(2026, 3, 2, 8, 30, 0, 0, time.UTC), true},
		{"Monday 07:30 UTC is 08:30 in Berlin: closed", berlin, time.Date(2026, 3, 2, 7, 30, 0, 0, time.UTC), false},
		{"Monday 14:30 UTC is 16:30 in Berlin in summer: closed", berlin, time.Date(2026, 6, 1, 14, 30, 0, 0, time.UTC), false},
		{"Monday 13:30 UTC is 15:30 in Berlin in summer: open", berlin, time.Date(2026, 6, 1, 13, 30, 0, 0, time.UTC), true},
		{"Friday in Berlin is outside mon-thu", berlin, time.Date(2026, 3, 6, 10, 0, 0, 0, time.UTC), false},
		{"a window across midnight is open late on its day", night, time.Date(2026, 3, 6, 23, 0, 0, 0, time.UTC), true},
		{"a window across midnight is open early the next day", night, time.Date(2026, 3, 7, 1, 0, 0, 0, time.UTC), true},
		{"a window across midnight is closed early on its own day", night, time.Date(2026, 3, 6, 1, 0, 0, 0, time.UTC), false},
		{"weekends to 24:00 include Sunday 23:59", weekend, time.Date(2026, 3, 8, 23, 59, 0, 0, time.UTC), true},
		{"weekends exclude Monday", weekend, time.Date(2026, 3, 9, 0, 0, 0, 0, time.UTC), false},
		{"a wrapping day range covers Monday", sunThu, time.Date(2026, 3, 2, 10, 30, 0, 0, time.UTC), true},
		{"a wrapping day range leaves out Wednesday", sunThu, time.Date(2026, 3, 4, 10, 30, 0, 0, time.UTC), false},
		{"no windows is always open", &Plan{}, t0, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in, ok := tt.p.InWindow(tt.at)
			if !ok || in != tt.want {
				t.Errorf("InWindow(%s) = %v, %v; want %v", tt.at, in, ok, tt.want)
			}
		})
	}
}

func withStages(p *Plan) *Plan {
	p.Flag, p.Environment, p.Treatment, p.Control = "f", "production", "on", "off"
	p.Stages = []Stage{{Name: "all", Percent: 100}}
	return p
}

func TestAnUnresolvedZoneClosesTheWindowsAndOpensNothing(t *testing.T) {
	p := &Plan{TimeZone: "Europe/Berlin", Windows: []Window{{Days: []string{"mon"}, From: "00:00", To: "24:00"}}}
	if in, ok := p.InWindow(t0); in || ok {
		t.Errorf("InWindow = %v, %v; want closed and not ok", in, ok)
	}
	if !p.NextWindow(t0).IsZero() {
		t.Error("NextWindow without a zone")
	}
	p.Windows[0].From = "bad"
	p.TimeZone = ""
	if in, ok := p.InWindow(t0); in || ok {
		t.Errorf("a broken window: %v, %v", in, ok)
	}
}

func TestNextWindowFindsTheNextOpening(t *testing.T) {
	p := &Plan{Windows: []Window{{Days: []string{"mon-thu"}, From: "09:00", To: "16:00"}, {Days: []string{"sat"}, From: "12:00", To: "13:00"}}}
	tests := []struct {
		name     string
		at, want time.Time
	}{
		{"Monday early opens the same morning", time.Date(2026, 3, 2, 7, 0, 0, 0, time.UTC), time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)},
		{"Monday evening opens Tuesday", time.Date(2026, 3, 2, 17, 0, 0, 0, time.UTC), time.Date(2026, 3, 3, 9, 0, 0, 0, time.UTC)},
		{"Thursday evening opens Saturday noon", time.Date(2026, 3, 5, 17, 0, 0, 0, time.UTC), time.Date(2026, 3, 7, 12, 0, 0, 0, time.UTC)},
		{"Saturday afternoon opens Monday", time.Date(2026, 3, 7, 14, 0, 0, 0, time.UTC), time.Date(2026, 3, 9, 9, 0, 0, 0, time.UTC)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := p.NextWindow(tt.at); !got.Equal(tt.want) {
				t.Errorf("NextWindow = %s, want %s", got, tt.want)
			}
		})
	}
}

func TestBlackoutsCoverWholeDaysOrExactTimes(t *testing.T) {
	p := &Plan{TimeZone: "America/New_York", Blackouts: []Blackout{
		{Name: "thanksgiving", From: "2026-11-26", To: "2026-11-27"},
		{Name: "deploy-freeze", From: "2026-12-24T00:00:00Z", To: "2026-12-26T12:00:00Z"},
	}}
	mustValidate(t, withStages(p))
	tests := []struct {
		name string
		at   time.Time
		want string
	}{
		{"midnight in New York starts the blackout", time.Date(2026, 11, 26, 5, 0, 0, 0, time.UTC), "thanksgiving"},
		{"the last date is included to its end", time.Date(2026, 11, 28, 4, 59, 0, 0, time.UTC), "thanksgiving"},
		{"the day after is free", time.Date(2026, 11, 28, 5, 0, 0, 0, time.UTC), ""},
		{"an RFC 3339 end is exclusive", time.Date(2026, 12, 26, 12, 0, 0, 0, time.UTC), ""},
		{"inside an RFC 3339 period", time.Date(2026, 12, 25, 12, 0, 0, 0, time.UTC), "deploy-freeze"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, _, in, ok := p.ActiveBlackout(tt.at)
			if !ok || in != (tt.want != "") || b.Name != tt.want {
				t.Errorf("ActiveBlackout = %q, %v, %v; want %q", b.Name, in, ok, tt.want)
			}
		})
	}
}

func TestABlackoutThatCannotBeReadCountsAsInForce(t *testing.T) {
	p := &Plan{TimeZone: "Europe/Berlin", Blackouts: []Blackout{{Name: "x", From: "2026-11-26", To: "2026-11-27"}}}
	if _, _, in, ok := p.ActiveBlackout(t0); !in || ok {
		t.Errorf("in=%v ok=%v; an unreadable blackout must count as in force", in, ok)
	}
}
