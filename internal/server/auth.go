package server

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base32"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/ramp-release/ramp/internal/store"
)

// Secret prefixes make leaked credentials easy to recognise (and to scan for).
const (
	apiTokenPrefix  = "ramp_api_"
	serverKeyPrefix = "ramp_srv_"
	clientKeyPrefix = "ramp_cli_"
)

// newSecret returns a random credential with the given prefix and 160 bits of entropy.
func newSecret(prefix string) string {
	var b [20]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(fmt.Sprintf("crypto/rand failed: %v", err)) // the platform is broken; nothing safe to do
	}
	return prefix + strings.ToLower(base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(b[:]))
}

// hashSecret is how credentials are stored: hex SHA-256. The secrets are random, so a
// slow password hash adds nothing.
func hashSecret(secret string) string {
	sum := sha256.Sum256([]byte(secret))
	return hex.EncodeToString(sum[:])
}

// displayPrefix is the part of a secret shown in lists to recognise it.
func displayPrefix(secret string) string {
	if len(secret) > 14 {
		return secret[:14]
	}
	return secret
}

// bearer extracts the credential from Authorization: Bearer, or X-API-Key (which some
// OFREP clients send).
func bearer(r *http.Request) string {
	if h := r.Header.Get("Authorization"); h != "" {
		if scheme, token, ok := strings.Cut(h, " "); ok && strings.EqualFold(scheme, "Bearer") {
			return strings.TrimSpace(token)
		}
		return ""
	}
	return strings.TrimSpace(r.Header.Get("X-API-Key"))
}

type principalKey struct{}

// principal is the authenticated caller of an admin route.
type principal struct {
	token store.APIToken
}

func principalFrom(ctx context.Context) principal {
	p, _ := ctx.Value(principalKey{}).(principal)
	return p
}

// actor names the caller in audit entries.
func (p principal) actor() string {
	if p.token.Name != "" {
		return p.token.Name
	}
	return "token:" + p.token.ID
}

// authenticate resolves an admin API token, failing with 401 for a missing, unknown or
// revoked one.
func (s *Server) authenticate(r *http.Request) (principal, *Problem) {
	secret := bearer(r)
	if secret == "" {
		return principal{}, problem(http.StatusUnauthorized, "missing credentials: send an API token as 'Authorization: Bearer <token>'")
	}
	if !strings.HasPrefix(secret, apiTokenPrefix) {
		return principal{}, problem(http.StatusUnauthorized, "this is not an API token (they start with "+apiTokenPrefix+"); SDK keys only work on /sdk and /ofrep routes")
	}
	t, err := s.store.APITokenByHash(r.Context(), hashSecret(secret))
	if errors.Is(err, store.ErrNotFound) {
		return principal{}, problem(http.StatusUnauthorized, "unknown API token")
	}
	if err != nil {
		s.log.Error("look up API token", "err", err)
		return principal{}, problem(http.StatusServiceUnavailable, "cannot check credentials: the store is unavailable")
	}
	if t.RevokedAt != nil {
		return principal{}, problem(http.StatusUnauthorized, "this API token was revoked on "+t.RevokedAt.Format(time.RFC3339))
	}
	return principal{token: t}, nil
}

// sdkKeyCache keeps recently used SDK keys in memory: OFREP and the SDK endpoints
// authenticate every request, and a store round trip would dominate their cost.
// Entries expire after a few seconds so that a key revoked on another replica stops
// working soon; a revocation on this replica takes effect at once.
type sdkKeyCache struct {
	mu      sync.Mutex
	ttl     time.Duration
	entries map[string]sdkKeyEntry
}

type sdkKeyEntry struct {
	key     store.SDKKey
	expires time.Time
}

func (c *sdkKeyCache) get(hash string, now time.Time) (store.SDKKey, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.entries[hash]
	if !ok || now.After(e.expires) {
		return store.SDKKey{}, false
	}
	return e.key, true
}

func (c *sdkKeyCache) put(hash string, k store.SDKKey, now time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.entries) > 10_000 { // bound memory against floods of distinct keys
		clear(c.entries)
	}
	c.entries[hash] = sdkKeyEntry{key: k, expires: now.Add(c.ttl)}
}

func (c *sdkKeyCache) forget(id string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for h, e := range c.entries {
		if e.key.ID == id {
			delete(c.entries, h)
		}
	}
}

// sdkKey resolves the SDK key of a request. It fails with 401 for a missing or unknown
// key and 403 for a revoked one (OpenFeature providers treat 401/403 as fatal).
func (s *Server) sdkKey(r *http.Request) (store.SDKKey, *Problem) {
	secret := bearer(r)
	if secret == "" {
		return store.SDKKey{}, problem(http.StatusUnauthorized, "missing SDK key: send it as 'Authorization: Bearer <key>' or 'X-API-Key: <key>'")
	}
	hash := hashSecret(secret)
	now := time.Now()
	k, ok := s.sdkKeys.get(hash, now)
	if !ok {
		var err error
		k, err = s.store.SDKKeyByHash(r.Context(), hash)
		if errors.Is(err, store.ErrNotFound) {
			return store.SDKKey{}, problem(http.StatusUnauthorized, "unknown SDK key")
		}
		if err != nil {
			s.log.Error("look up SDK key", "err", err)
			return store.SDKKey{}, problem(http.StatusServiceUnavailable, "cannot check the SDK key: the store is unavailable")
		}
		s.sdkKeys.put(hash, k, now)
	}
	if k.RevokedAt != nil {
		return store.SDKKey{}, problem(http.StatusForbidden, "this SDK key was revoked on "+k.RevokedAt.Format(time.RFC3339))
	}
	return k, nil
}

// Bootstrap creates the first admin token when the store has none and returns its
// secret (shown once; only its hash is kept). It returns "" when tokens exist.
func (s *Server) Bootstrap(ctx context.Context) (string, error) {
	n, err := s.store.CountAPITokens(ctx)
	if err != nil {
		return "", fmt.Errorf("count API tokens: %w", err)
	}
	if n > 0 {
		return "", nil
	}
	secret := newSecret(apiTokenPrefix)
	_, err = s.store.CreateAPIToken(ctx, store.APIToken{
		ID: newID(), Name: "bootstrap-admin", Role: store.RoleAdmin, Hash: hashSecret(secret),
		Prefix: displayPrefix(secret), CreatedAt: time.Now().UTC(), CreatedBy: "ramp serve",
	}, store.Change{Actor: "ramp serve", Reason: "first start: bootstrap admin token"})
	if err != nil {
		return "", fmt.Errorf("create bootstrap token: %w", err)
	}
	return secret, nil
}

// newID returns a short random identifier for tokens and keys.
func newID() string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}
