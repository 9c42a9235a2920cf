package ingest

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"hash"
	"sync"
)

// UnitHashPrefix starts every hashed unit key, so a hashed key is recognisable.
const UnitHashPrefix = "h1:"

// UnitHasher returns a function that replaces a unit key by its keyed hash,
// HMAC-SHA256(secret, key) in base64url: the same key always gives the same hash, so
// units keep their arms and totals, but the analysis, the event log and the feedback
// never hold raw ids, and nobody without the secret can recompute a hash from a
// guessed id. Keys that are already hashed are left alone. Give the server the secret
// in RAMP_UNIT_KEY_SECRET (or a file named by RAMP_UNIT_KEY_SECRET_FILE).
func UnitHasher(secret []byte) (func(unit string) string, error) {
	if len(secret) < 16 {
		return nil, errors.New("the unit key secret must be at least 16 bytes (use 32 random bytes)")
	}
	pool := sync.Pool{New: func() any { return hmac.New(sha256.New, secret) }}
	return func(unit string) string {
		if len(unit) == len(UnitHashPrefix)+43 && unit[:len(UnitHashPrefix)] == UnitHashPrefix {
			return unit
		}
		h := pool.Get().(hash.Hash)
		h.Reset()
		h.Write([]byte(unit))
		var sum [sha256.Size]byte
		out := UnitHashPrefix + base64.RawURLEncoding.EncodeToString(h.Sum(sum[:0]))
		pool.Put(h)
		return out
	}, nil
}
