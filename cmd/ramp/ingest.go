package main

import (
	"fmt"
	"log/slog"
	"os"
	"strings"

	"github.com/ramp-release/ramp/internal/ingest"
	"github.com/ramp-release/ramp/internal/store"
)

// newAggregator builds the event aggregator, and the unit-key hasher when
// RAMP_UNIT_KEY_SECRET (or the file RAMP_UNIT_KEY_SECRET_FILE names) is set: then
// unit keys are replaced by keyed hashes before events are stored.
func newAggregator(st store.Store, log *slog.Logger, getenv func(string) string) (*ingest.Aggregator, func(string) string, error) {
	agg := ingest.New(st, ingest.Options{Log: log})
	secret := getenv("RAMP_UNIT_KEY_SECRET")
	if path := getenv("RAMP_UNIT_KEY_SECRET_FILE"); path != "" {
		b, err := os.ReadFile(path)
		if err != nil {
			return nil, nil, fmt.Errorf("RAMP_UNIT_KEY_SECRET_FILE: %w", err)
		}
		secret = strings.TrimSpace(string(b))
	}
	if secret == "" {
		return agg, nil, nil
	}
	hash, err := ingest.UnitHasher([]byte(secret))
	if err != nil {
		return nil, nil, fmt.Errorf("RAMP_UNIT_KEY_SECRET: %w", err)
	}
	log.Info("unit keys are stored as keyed hashes (RAMP_UNIT_KEY_SECRET)")
	return agg, hash, nil
}
