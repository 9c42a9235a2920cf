package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/ramp-release/ramp/flags"
	"github.com/ramp-release/ramp/internal/store"
)

// CreateEnvironment stores env and gives every existing flag a state in it, with
// version 1: the state the flag was created with, when that state is valid in an
// environment without segments; otherwise (it tests a segment, or the definition has
// since dropped a variant it serves) the flag starts disabled, serving nothing.
func (s *Store) CreateEnvironment(ctx context.Context, env store.Environment, c store.Change) (_ store.Environment, err error) {
	defer wrap(&err, "create environment %q", env.Key)
	if msg := flags.CheckKey(env.Key); msg != "" {
		return env, fmt.Errorf("%w: %w", store.ErrInvalid, flags.ValidationErrors{{Path: "key", Message: "environment key " + msg}})
	}
	if env.Name == "" {
		env.Name = env.Key
	}
	err = s.write(ctx, LockWrite, func(t *tx) error {
		env.CreatedAt = t.now
		ok, err := t.exists(`SELECT 1 FROM environments WHERE key = $1`, env.Key)
		if err != nil {
			return err
		}
		if ok {
			return fmt.Errorf("environment %q %w", env.Key, store.ErrExists)
		}
		if _, err := t.exec(`INSERT INTO environments (key, name, description, created_at, revision) VALUES ($1, $2, $3, $4, 1)`,
			env.Key, env.Name, env.Description, t.time(env.CreatedAt)); err != nil {
			return t.s.insertError(err, "environment", env.Key)
		}
		if err := t.seedStates(env.Key); err != nil {
			return err
		}
		return t.record(c, "environment.create", env.Key, "environment:"+env.Key, nil, env)
	})
	return env, err
}

// seedStates gives every flag its initial state in the new environment env.
func (t *tx) seedStates(env string) error {
	defs, err := t.definitions(`SELECT `+defColumns+`, initial_state FROM flags ORDER BY key`, true)
	if err != nil {
		return err
	}
	for _, d := range defs {
		st := initialState(d.def, d.init)
		st.Version, st.UpdatedAt = 1, t.now
		if err := t.insertState(env, d.def.Key, st); err != nil {
			return err
		}
	}
	return nil
}

// initialState returns the template if it compiles with def in an environment without
// segments, and otherwise a disabled state that serves nothing.
func initialState(def store.FlagDefinition, init stateBody) store.FlagState {
	st := store.FlagState{Enabled: init.Enabled, OffVariant: init.OffVariant, Rules: init.Rules, Default: init.Default}
	f := store.Flag{Definition: def, State: st}
	if flags.Validate(&flags.Set{Flags: map[string]*flags.Flag{def.Key: f.Eval()}}) != nil {
		return store.FlagState{}
	}
	return st
}

// GetEnvironment returns one environment.
func (s *Store) GetEnvironment(ctx context.Context, key string) (_ store.Environment, err error) {
	defer wrap(&err, "get environment %q", key)
	var env store.Environment
	err = s.r.QueryRowContext(ctx, `SELECT key, name, description, created_at FROM environments WHERE key = $1`, key).
		Scan(&env.Key, &env.Name, &env.Description, timeScanner{&env.CreatedAt})
	if errors.Is(err, sql.ErrNoRows) {
		return env, fmt.Errorf("environment %q %w", key, store.ErrNotFound)
	}
	return env, err
}

// ListEnvironments returns every environment, ordered by key.
func (s *Store) ListEnvironments(ctx context.Context) (_ []store.Environment, err error) {
	defer wrap(&err, "list environments")
	rows, err := s.r.QueryContext(ctx, `SELECT key, name, description, created_at FROM environments ORDER BY key`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []store.Environment
	for rows.Next() {
		var env store.Environment
		if err := rows.Scan(&env.Key, &env.Name, &env.Description, timeScanner{&env.CreatedAt}); err != nil {
			return nil, err
		}
		out = append(out, env)
	}
	return out, rows.Err()
}

// environmentKeys lists the environments' keys in order.
func (t *tx) environmentKeys() ([]string, error) {
	rows, err := t.query(`SELECT key FROM environments ORDER BY key`)
	if err != nil {
		return nil, fmt.Errorf("list environments: %w", err)
	}
	defer rows.Close()
	var keys []string
	for rows.Next() {
		var k string
		if err := rows.Scan(&k); err != nil {
			return nil, err
		}
		keys = append(keys, k)
	}
	return keys, rows.Err()
}

// Revision returns the environment's current revision.
func (s *Store) Revision(ctx context.Context, env string) (_ int64, err error) {
	defer wrap(&err, "revision of %q", env)
	var rev int64
	err = s.r.QueryRowContext(ctx, `SELECT revision FROM environments WHERE key = $1`, env).Scan(&rev)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, fmt.Errorf("environment %q %w", env, store.ErrNotFound)
	}
	return rev, err
}

// insertError maps a failed insert of kind key: a unique violation is store.ErrExists.
func (s *Store) insertError(err error, kind, key string) error {
	if s.d.IsUniqueViolation != nil && s.d.IsUniqueViolation(err) {
		return fmt.Errorf("%s %q %w", kind, key, store.ErrExists)
	}
	return fmt.Errorf("insert %s %q: %w", kind, key, err)
}
