package sqlstore

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"

	"github.com/ramp-release/ramp/internal/store"
)

// newID returns a random identifier for a credential.
func newID(prefix string) string {
	b := make([]byte, 10)
	rand.Read(b) //nolint:errcheck // crypto/rand.Read never fails
	return prefix + hex.EncodeToString(b)
}

// credentialTaken fails with store.ErrExists when table already holds a credential
// with this id or hash.
func (t *tx) credentialTaken(table, what, id, hash string) error {
	for _, c := range []struct{ column, value string }{{"id", id}, {"hash", hash}} {
		ok, err := t.exists(`SELECT 1 FROM `+table+` WHERE `+c.column+` = $1`, c.value)
		if err != nil {
			return err
		}
		if ok {
			return fmt.Errorf("%s with this %s %w", what, c.column, store.ErrExists)
		}
	}
	return nil
}

const tokenColumns = `id, name, role, hash, prefix, created_at, created_by, revoked_at`

func scanToken(r rowScanner) (store.APIToken, error) {
	var tk store.APIToken
	err := r.Scan(&tk.ID, &tk.Name, &tk.Role, &tk.Hash, &tk.Prefix, timeScanner{&tk.CreatedAt}, &tk.CreatedBy, nullTimeScanner{&tk.RevokedAt})
	return tk, err
}

// CreateAPIToken stores a token. The store sets its ID when empty, its creation time,
// and CreatedBy from the change's actor when empty.
func (s *Store) CreateAPIToken(ctx context.Context, tk store.APIToken, c store.Change) (_ store.APIToken, err error) {
	defer wrap(&err, "create API token %q", tk.Name)
	if tk.Role.Rank() == 0 {
		return tk, fmt.Errorf("%w: unknown role %q; use one of %v", store.ErrInvalid, tk.Role, store.Roles)
	}
	if tk.Hash == "" {
		return tk, fmt.Errorf("%w: the token has no hash", store.ErrInvalid)
	}
	if tk.ID == "" {
		tk.ID = newID("tok_")
	}
	if tk.CreatedBy == "" {
		tk.CreatedBy = c.Actor
	}
	tk.RevokedAt = nil
	err = s.write(ctx, LockWrite, func(t *tx) error {
		tk.CreatedAt = t.now
		if err := t.credentialTaken("api_tokens", "an API token", tk.ID, tk.Hash); err != nil {
			return err
		}
		if _, err := t.exec(`INSERT INTO api_tokens (`+tokenColumns+`) VALUES ($1, $2, $3, $4, $5, $6, $7, NULL)`,
			tk.ID, tk.Name, string(tk.Role), tk.Hash, tk.Prefix, t.time(tk.CreatedAt), tk.CreatedBy); err != nil {
			return t.s.insertError(err, "API token", tk.ID)
		}
		return t.record(c, "api_token.create", "", "api_token:"+tk.ID, nil, tk)
	})
	return tk, err
}

// APITokenByHash returns the token whose secret hashes to hash, revoked or not.
func (s *Store) APITokenByHash(ctx context.Context, hash string) (_ store.APIToken, err error) {
	defer wrap(&err, "look up API token by hash")
	tk, err := scanToken(s.r.QueryRowContext(ctx, `SELECT `+tokenColumns+` FROM api_tokens WHERE hash = $1`, hash))
	if errors.Is(err, sql.ErrNoRows) {
		return tk, fmt.Errorf("API token %w", store.ErrNotFound)
	}
	return tk, err
}

// ListAPITokens returns every token, revoked ones included, oldest first.
func (s *Store) ListAPITokens(ctx context.Context) (_ []store.APIToken, err error) {
	defer wrap(&err, "list API tokens")
	rows, err := s.r.QueryContext(ctx, `SELECT `+tokenColumns+` FROM api_tokens ORDER BY created_at, id`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []store.APIToken
	for rows.Next() {
		tk, err := scanToken(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, tk)
	}
	return out, rows.Err()
}

// RevokeAPIToken revokes a token. Revoking a revoked token changes nothing and writes
// no audit entry.
func (s *Store) RevokeAPIToken(ctx context.Context, id string, c store.Change) (err error) {
	defer wrap(&err, "revoke API token %q", id)
	return s.write(ctx, LockWrite, func(t *tx) error {
		cur, err := scanToken(t.queryRow(`SELECT `+tokenColumns+` FROM api_tokens WHERE id = $1`, id))
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("API token %q %w", id, store.ErrNotFound)
		}
		if err != nil {
			return err
		}
		if cur.RevokedAt != nil {
			return nil
		}
		next := cur
		next.RevokedAt = &t.now
		if _, err := t.exec(`UPDATE api_tokens SET revoked_at = $2 WHERE id = $1`, id, t.time(t.now)); err != nil {
			return err
		}
		return t.record(c, "api_token.revoke", "", "api_token:"+id, cur, next)
	})
}

// CountAPITokens counts the tokens that are not revoked.
func (s *Store) CountAPITokens(ctx context.Context) (n int, err error) {
	defer wrap(&err, "count API tokens")
	err = s.r.QueryRowContext(ctx, `SELECT COUNT(*) FROM api_tokens WHERE revoked_at IS NULL`).Scan(&n)
	return n, err
}

const sdkKeyColumns = `id, environment, kind, name, hash, prefix, created_at, revoked_at`

func scanSDKKey(r rowScanner) (store.SDKKey, error) {
	var k store.SDKKey
	err := r.Scan(&k.ID, &k.Environment, &k.Kind, &k.Name, &k.Hash, &k.Prefix, timeScanner{&k.CreatedAt}, nullTimeScanner{&k.RevokedAt})
	return k, err
}

// CreateSDKKey stores an SDK key for an existing environment. The store sets its ID
// when empty and its creation time.
func (s *Store) CreateSDKKey(ctx context.Context, k store.SDKKey, c store.Change) (_ store.SDKKey, err error) {
	defer wrap(&err, "create SDK key %q in %q", k.Name, k.Environment)
	if k.Kind != store.SDKKeyServer && k.Kind != store.SDKKeyClient {
		return k, fmt.Errorf("%w: unknown kind %q; use %q or %q", store.ErrInvalid, k.Kind, store.SDKKeyServer, store.SDKKeyClient)
	}
	if k.Hash == "" {
		return k, fmt.Errorf("%w: the key has no hash", store.ErrInvalid)
	}
	if k.ID == "" {
		k.ID = newID("sdk_")
	}
	k.RevokedAt = nil
	err = s.write(ctx, LockWrite, func(t *tx) error {
		k.CreatedAt = t.now
		if err := t.environmentExists(k.Environment); err != nil {
			return err
		}
		if err := t.credentialTaken("sdk_keys", "an SDK key", k.ID, k.Hash); err != nil {
			return err
		}
		if _, err := t.exec(`INSERT INTO sdk_keys (`+sdkKeyColumns+`) VALUES ($1, $2, $3, $4, $5, $6, $7, NULL)`,
			k.ID, k.Environment, string(k.Kind), k.Name, k.Hash, k.Prefix, t.time(k.CreatedAt)); err != nil {
			return t.s.insertError(err, "SDK key", k.ID)
		}
		return t.record(c, "sdk_key.create", k.Environment, "sdk_key:"+k.ID, nil, k)
	})
	return k, err
}

// SDKKeyByHash returns the key whose secret hashes to hash, revoked or not.
func (s *Store) SDKKeyByHash(ctx context.Context, hash string) (_ store.SDKKey, err error) {
	defer wrap(&err, "look up SDK key by hash")
	k, err := scanSDKKey(s.r.QueryRowContext(ctx, `SELECT `+sdkKeyColumns+` FROM sdk_keys WHERE hash = $1`, hash))
	if errors.Is(err, sql.ErrNoRows) {
		return k, fmt.Errorf("SDK key %w", store.ErrNotFound)
	}
	return k, err
}

// ListSDKKeys returns env's keys (every environment's when env is ""), revoked ones
// included, oldest first.
func (s *Store) ListSDKKeys(ctx context.Context, env string) (out []store.SDKKey, err error) {
	defer wrap(&err, "list SDK keys in %q", env)
	err = s.read(ctx, func(t *tx) error {
		q, args := `SELECT `+sdkKeyColumns+` FROM sdk_keys ORDER BY created_at, id`, []any(nil)
		if env != "" {
			if err := t.environmentExists(env); err != nil {
				return err
			}
			q, args = `SELECT `+sdkKeyColumns+` FROM sdk_keys WHERE environment = $1 ORDER BY created_at, id`, []any{env}
		}
		rows, err := t.query(q, args...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			k, err := scanSDKKey(rows)
			if err != nil {
				return err
			}
			out = append(out, k)
		}
		return rows.Err()
	})
	return out, err
}

// RevokeSDKKey revokes a key. Revoking a revoked key changes nothing and writes no
// audit entry.
func (s *Store) RevokeSDKKey(ctx context.Context, id string, c store.Change) (err error) {
	defer wrap(&err, "revoke SDK key %q", id)
	return s.write(ctx, LockWrite, func(t *tx) error {
		cur, err := scanSDKKey(t.queryRow(`SELECT `+sdkKeyColumns+` FROM sdk_keys WHERE id = $1`, id))
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("SDK key %q %w", id, store.ErrNotFound)
		}
		if err != nil {
			return err
		}
		if cur.RevokedAt != nil {
			return nil
		}
		next := cur
		next.RevokedAt = &t.now
		if _, err := t.exec(`UPDATE sdk_keys SET revoked_at = $2 WHERE id = $1`, id, t.time(t.now)); err != nil {
			return err
		}
		return t.record(c, "sdk_key.revoke", cur.Environment, "sdk_key:"+id, cur, next)
	})
}
