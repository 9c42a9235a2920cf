package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/ramp-release/ramp/flags"
	"github.com/ramp-release/ramp/internal/store"
)

// The columns of a definition (flags) and of a state (flag_states), in scan order.
const (
	defColumns   = `key, type, description, variants, salt, bucket_by, metadata, client_side, tags, version, created_at, updated_at`
	stateColumns = `enabled, off_variant, rules, default_allocation, version, updated_at`
	flagColumns  = `f.key, f.type, f.description, f.variants, f.salt, f.bucket_by, f.metadata, f.client_side, f.tags, f.version, f.created_at, f.updated_at, ` +
		`s.enabled, s.off_variant, s.rules, s.default_allocation, s.version, s.updated_at`
	flagFrom = ` FROM flags f JOIN flag_states s ON s.flag = f.key`
)

type rowScanner interface{ Scan(dest ...any) error }

// defRow is a stored definition and the state template it was created with.
type defRow struct {
	def  store.FlagDefinition
	init stateBody
}

// scanDefinition scans defColumns, then extra.
func scanDefinition(r rowScanner, d *store.FlagDefinition, extra ...any) error {
	var variants, metadata, tags []byte
	dest := append([]any{&d.Key, &d.Type, &d.Description, &variants, &d.Salt, &d.BucketBy, &metadata, &d.ClientSide, &tags,
		&d.Version, timeScanner{&d.CreatedAt}, timeScanner{&d.UpdatedAt}}, extra...)
	if err := r.Scan(dest...); err != nil {
		return err
	}
	return errors.Join(decodeJSON(variants, &d.Variants), decodeJSON(metadata, &d.Metadata), decodeJSON(tags, &d.Tags))
}

// scanFlag scans flagColumns into a flag with normalized values.
func scanFlag(r rowScanner, env string) (store.Flag, error) {
	f := store.Flag{Environment: env}
	st := &f.State
	var rules, def []byte
	if err := scanDefinition(r, &f.Definition, &st.Enabled, &st.OffVariant, &rules, &def, &st.Version, timeScanner{&st.UpdatedAt}); err != nil {
		return f, err
	}
	if err := errors.Join(decodeJSON(rules, &st.Rules), decodeJSON(def, &st.Default)); err != nil {
		return f, err
	}
	normalizeFlag(&f)
	return f, nil
}

// definitions runs a query for defColumns (and initial_state when withInit).
func (t *tx) definitions(query string, withInit bool, args ...any) ([]defRow, error) {
	rows, err := t.query(query, args...)
	if err != nil {
		return nil, fmt.Errorf("read flag definitions: %w", err)
	}
	defer rows.Close()
	var out []defRow
	for rows.Next() {
		var d defRow
		var init []byte
		var extra []any
		if withInit {
			extra = append(extra, &init)
		}
		if err := scanDefinition(rows, &d.def, extra...); err != nil {
			return nil, fmt.Errorf("read flag definitions: %w", err)
		}
		if err := decodeJSON(init, &d.init); err != nil {
			return nil, fmt.Errorf("read the initial state of flag %q: %w", d.def.Key, err)
		}
		f := store.Flag{Definition: d.def, State: store.FlagState{Rules: d.init.Rules, Default: d.init.Default}}
		normalizeFlag(&f)
		out = append(out, d)
	}
	return out, rows.Err()
}

// definition reads one definition, or fails with store.ErrNotFound.
func (t *tx) definition(key string) (store.FlagDefinition, error) {
	defs, err := t.definitions(`SELECT `+defColumns+` FROM flags WHERE key = $1`, false, key)
	if err != nil {
		return store.FlagDefinition{}, err
	}
	if len(defs) == 0 {
		return store.FlagDefinition{}, fmt.Errorf("flag %q %w", key, store.ErrNotFound)
	}
	return defs[0].def, nil
}

// flag reads a flag as env sees it, or fails with store.ErrNotFound.
func (t *tx) flag(env, key string) (store.Flag, error) {
	f, err := scanFlag(t.queryRow(`SELECT `+flagColumns+flagFrom+` WHERE s.environment = $1 AND f.key = $2`, env, key), env)
	if errors.Is(err, sql.ErrNoRows) {
		if err := t.environmentExists(env); err != nil {
			return f, err
		}
		return f, fmt.Errorf("flag %q %w", key, store.ErrNotFound)
	}
	if err != nil {
		return f, fmt.Errorf("read flag %q: %w", key, err)
	}
	return f, nil
}

// flagsIn reads env's flags ordered by key, with keys after after, at most n (all when n is 0).
func (t *tx) flagsIn(env, after string, n int) ([]store.Flag, error) {
	q := `SELECT ` + flagColumns + flagFrom + ` WHERE s.environment = $1 AND f.key > $2 ORDER BY f.key`
	args := []any{env, after}
	if n > 0 {
		q += ` LIMIT $3`
		args = append(args, n)
	}
	rows, err := t.query(q, args...)
	if err != nil {
		return nil, fmt.Errorf("read flags: %w", err)
	}
	defer rows.Close()
	var out []store.Flag
	for rows.Next() {
		f, err := scanFlag(rows, env)
		if err != nil {
			return nil, fmt.Errorf("read flags: %w", err)
		}
		out = append(out, f)
	}
	return out, rows.Err()
}

// canonicalDefinition returns def as it will read back from the store: through its
// JSON form, with numbers normalized. It never shares memory with def.
func canonicalDefinition(def store.FlagDefinition) (store.FlagDefinition, error) {
	var out store.FlagDefinition
	if err := roundTrip(def, &out); err != nil {
		return out, err
	}
	f := store.Flag{Definition: out}
	normalizeFlag(&f)
	return f.Definition, nil
}

// canonicalState is canonicalDefinition for a state.
func canonicalState(st store.FlagState) (store.FlagState, error) {
	var out store.FlagState
	if err := roundTrip(st, &out); err != nil {
		return out, err
	}
	f := store.Flag{State: out}
	normalizeFlag(&f)
	return f.State, nil
}

func roundTrip(in, out any) error {
	s, err := encodeJSON(in)
	if err != nil {
		return err
	}
	return decodeJSON([]byte(s), out)
}

// validateFlag checks that the flag made of def and st compiles beside segs.
func validateFlag(def store.FlagDefinition, st store.FlagState, segs map[string]*flags.Segment) error {
	f := store.Flag{Definition: def, State: st}
	return flags.Validate(&flags.Set{Flags: map[string]*flags.Flag{def.Key: f.Eval()}, Segments: segs})
}

// inEnvironment prefixes the paths of validation errors with the environment they
// were found in, for errors that span environments.
func inEnvironment(env string, err error) flags.ValidationErrors {
	var ve flags.ValidationErrors
	if !errors.As(err, &ve) {
		return flags.ValidationErrors{{Path: fmt.Sprintf("environments[%q]", env), Message: err.Error()}}
	}
	out := make(flags.ValidationErrors, len(ve))
	for i, e := range ve {
		out[i] = flags.FieldError{Path: fmt.Sprintf("environments[%q].%s", env, e.Path), Message: e.Message}
	}
	return out
}

func invalid(err error) error { return fmt.Errorf("%w: %w", store.ErrInvalid, err) }

// CreateFlag stores def and gives every environment the state init, with version 1.
// init is also kept as the template for environments created later (see
// CreateEnvironment). It must compile in every existing environment.
func (s *Store) CreateFlag(ctx context.Context, def store.FlagDefinition, init store.FlagState, c store.Change) (err error) {
	defer wrap(&err, "create flag %q", def.Key)
	if def, err = canonicalDefinition(def); err != nil {
		return err
	}
	if init, err = canonicalState(init); err != nil {
		return err
	}
	if err := validateFlag(def, store.FlagState{}, nil); err != nil {
		return invalid(err)
	}
	return s.write(ctx, LockWrite, func(t *tx) error {
		def.Version, def.CreatedAt, def.UpdatedAt = 1, t.now, t.now
		init.Version, init.UpdatedAt = 1, t.now
		ok, err := t.exists(`SELECT 1 FROM flags WHERE key = $1`, def.Key)
		if err != nil {
			return err
		}
		if ok {
			return fmt.Errorf("flag %q %w", def.Key, store.ErrExists)
		}
		envs, err := t.environmentKeys()
		if err != nil {
			return err
		}
		if len(envs) == 0 {
			if err := validateFlag(def, init, nil); err != nil {
				return invalid(err)
			}
		}
		var problems flags.ValidationErrors
		for _, env := range envs {
			segs, err := t.segmentSet(env)
			if err != nil {
				return err
			}
			if err := validateFlag(def, init, segs); err != nil {
				problems = append(problems, inEnvironment(env, err)...)
			}
		}
		if len(problems) > 0 {
			return invalid(problems)
		}
		if err := t.insertDefinition(def, init); err != nil {
			return err
		}
		for _, env := range envs {
			if err := t.insertState(env, def.Key, init); err != nil {
				return err
			}
		}
		if err := t.bumpRevision(""); err != nil {
			return err
		}
		return t.record(c, "flag.create", "", "flag:"+def.Key, nil, flagCreated{Definition: def, State: init})
	})
}

// flagCreated is the audit record of a created flag: its definition and the state
// every environment got.
type flagCreated struct {
	Definition store.FlagDefinition `json:"definition"`
	State      store.FlagState      `json:"state"`
}

// flagDeleted is the audit record of a deleted flag: its definition and its state in
// each environment.
type flagDeleted struct {
	Definition store.FlagDefinition       `json:"definition"`
	States     map[string]store.FlagState `json:"states"`
}

func (t *tx) insertDefinition(def store.FlagDefinition, init store.FlagState) error {
	variants, err := encodeJSON(def.Variants)
	if err != nil {
		return err
	}
	metadata, err := nullJSON(def.Metadata, len(def.Metadata) == 0)
	if err != nil {
		return err
	}
	tags, err := nullJSON(def.Tags, len(def.Tags) == 0)
	if err != nil {
		return err
	}
	template, err := encodeJSON(stateBody{Enabled: init.Enabled, OffVariant: init.OffVariant, Rules: init.Rules, Default: init.Default})
	if err != nil {
		return err
	}
	_, err = t.exec(`INSERT INTO flags (`+defColumns+`, initial_state) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)`,
		def.Key, string(def.Type), def.Description, variants, def.Salt, def.BucketBy, metadata, def.ClientSide, tags,
		def.Version, t.time(def.CreatedAt), t.time(def.UpdatedAt), template)
	if err != nil {
		return t.s.insertError(err, "flag", def.Key)
	}
	return nil
}

// stateArgs returns the JSON columns of a state.
func stateArgs(st store.FlagState) (rules, def any, err error) {
	if rules, err = nullJSON(st.Rules, len(st.Rules) == 0); err != nil {
		return nil, nil, err
	}
	if def, err = nullJSON(st.Default, st.Default == nil); err != nil {
		return nil, nil, err
	}
	return rules, def, nil
}

func (t *tx) insertState(env, key string, st store.FlagState) error {
	rules, def, err := stateArgs(st)
	if err != nil {
		return err
	}
	_, err = t.exec(`INSERT INTO flag_states (environment, flag, `+stateColumns+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
		env, key, st.Enabled, st.OffVariant, rules, def, st.Version, t.time(st.UpdatedAt))
	if err != nil {
		return fmt.Errorf("insert the state of flag %q in %q: %w", key, env, err)
	}
	return nil
}

// UpdateFlagDefinition replaces the shared definition if its version is still
// expectVersion. The type cannot change, and every environment's state must still
// compile with the new definition; otherwise it fails with store.ErrInvalid wrapping
// flags.ValidationErrors whose paths start with the environment.
func (s *Store) UpdateFlagDefinition(ctx context.Context, def store.FlagDefinition, expectVersion int64, c store.Change) (_ store.FlagDefinition, err error) {
	defer wrap(&err, "update flag %q", def.Key)
	if def, err = canonicalDefinition(def); err != nil {
		return def, err
	}
	if err := validateFlag(def, store.FlagState{}, nil); err != nil {
		return def, invalid(err)
	}
	err = s.write(ctx, LockWrite, func(t *tx) error {
		cur, err := t.definition(def.Key)
		if err != nil {
			return err
		}
		if cur.Version != expectVersion {
			return fmt.Errorf("%w: the definition is at version %d, not %d; read it again and reapply the change", store.ErrConflict, cur.Version, expectVersion)
		}
		if def.Type != cur.Type {
			return invalid(flags.ValidationErrors{{Path: fmt.Sprintf("flags[%q].type", def.Key),
				Message: fmt.Sprintf("is %q; a flag's type cannot change (create a new flag of type %q instead)", cur.Type, def.Type)}})
		}
		def.Version, def.CreatedAt, def.UpdatedAt = cur.Version+1, cur.CreatedAt, t.now
		envs, err := t.environmentKeys()
		if err != nil {
			return err
		}
		var problems flags.ValidationErrors
		for _, env := range envs {
			f, err := t.flag(env, def.Key)
			if err != nil {
				return err
			}
			segs, err := t.segmentSet(env)
			if err != nil {
				return err
			}
			if err := validateFlag(def, f.State, segs); err != nil {
				problems = append(problems, inEnvironment(env, err)...)
			}
		}
		if len(problems) > 0 {
			return invalid(problems)
		}
		variants, err := encodeJSON(def.Variants)
		if err != nil {
			return err
		}
		metadata, err := nullJSON(def.Metadata, len(def.Metadata) == 0)
		if err != nil {
			return err
		}
		tags, err := nullJSON(def.Tags, len(def.Tags) == 0)
		if err != nil {
			return err
		}
		if _, err := t.exec(`UPDATE flags SET description = $2, variants = $3, salt = $4, bucket_by = $5, metadata = $6,
			client_side = $7, tags = $8, version = $9, updated_at = $10 WHERE key = $1`,
			def.Key, def.Description, variants, def.Salt, def.BucketBy, metadata, def.ClientSide, tags, def.Version, t.time(def.UpdatedAt)); err != nil {
			return fmt.Errorf("write the definition: %w", err)
		}
		if err := t.bumpRevision(""); err != nil {
			return err
		}
		return t.record(c, "flag.definition.update", "", "flag:"+def.Key, cur, def)
	})
	return def, err
}

// UpdateFlagState replaces the state in env if its version is still expectVersion.
func (s *Store) UpdateFlagState(ctx context.Context, env, key string, state store.FlagState, expectVersion int64, c store.Change) (_ store.Flag, err error) {
	defer wrap(&err, "update flag %q in %q", key, env)
	if state, err = canonicalState(state); err != nil {
		return store.Flag{}, err
	}
	var f store.Flag
	err = s.write(ctx, LockWrite, func(t *tx) error {
		cur, err := t.flag(env, key)
		if err != nil {
			return err
		}
		if cur.State.Version != expectVersion {
			return fmt.Errorf("%w: the state is at version %d, not %d; read it again and reapply the change", store.ErrConflict, cur.State.Version, expectVersion)
		}
		segs, err := t.segmentSet(env)
		if err != nil {
			return err
		}
		if err := validateFlag(cur.Definition, state, segs); err != nil {
			return invalid(err)
		}
		state.Version, state.UpdatedAt = cur.State.Version+1, t.now
		rules, def, err := stateArgs(state)
		if err != nil {
			return err
		}
		if _, err := t.exec(`UPDATE flag_states SET enabled = $3, off_variant = $4, rules = $5, default_allocation = $6, version = $7, updated_at = $8
			WHERE environment = $1 AND flag = $2`,
			env, key, state.Enabled, state.OffVariant, rules, def, state.Version, t.time(state.UpdatedAt)); err != nil {
			return fmt.Errorf("write the state: %w", err)
		}
		if err := t.bumpRevision(env); err != nil {
			return err
		}
		f = store.Flag{Environment: env, Definition: cur.Definition, State: state}
		return t.record(c, "flag.state.update", env, "flag:"+key, cur.State, state)
	})
	return f, err
}

// GetFlag returns a flag as env sees it.
func (s *Store) GetFlag(ctx context.Context, env, key string) (f store.Flag, err error) {
	defer wrap(&err, "get flag %q in %q", key, env)
	err = s.read(ctx, func(t *tx) error {
		f, err = t.flag(env, key)
		return err
	})
	return f, err
}

// ListFlags returns a page of env's flags, ordered by key.
func (s *Store) ListFlags(ctx context.Context, env string, p store.Page) (out []store.Flag, err error) {
	defer wrap(&err, "list flags in %q", env)
	err = s.read(ctx, func(t *tx) error {
		if err := t.environmentExists(env); err != nil {
			return err
		}
		out, err = t.flagsIn(env, p.After, limit(p.Limit))
		return err
	})
	return out, err
}

// DeleteFlag deletes a flag from every environment.
func (s *Store) DeleteFlag(ctx context.Context, key string, c store.Change) (err error) {
	defer wrap(&err, "delete flag %q", key)
	return s.write(ctx, LockWrite, func(t *tx) error {
		def, err := t.definition(key)
		if err != nil {
			return err
		}
		gone := flagDeleted{Definition: def, States: map[string]store.FlagState{}}
		envs, err := t.environmentKeys()
		if err != nil {
			return err
		}
		for _, env := range envs {
			f, err := t.flag(env, key)
			if err != nil {
				return err
			}
			gone.States[env] = f.State
		}
		if _, err := t.exec(`DELETE FROM flag_states WHERE flag = $1`, key); err != nil {
			return fmt.Errorf("delete states: %w", err)
		}
		if _, err := t.exec(`DELETE FROM flags WHERE key = $1`, key); err != nil {
			return fmt.Errorf("delete definition: %w", err)
		}
		if err := t.bumpRevision(""); err != nil {
			return err
		}
		return t.record(c, "flag.delete", "", "flag:"+key, gone, nil)
	})
}

// Snapshot returns env's whole flag set and its revision, read in one transaction.
func (s *Store) Snapshot(ctx context.Context, env string) (set *flags.Set, rev int64, err error) {
	defer wrap(&err, "snapshot of %q", env)
	err = s.read(ctx, func(t *tx) error {
		err := t.queryRow(`SELECT revision FROM environments WHERE key = $1`, env).Scan(&rev)
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("environment %q %w", env, store.ErrNotFound)
		}
		if err != nil {
			return err
		}
		fs, err := t.flagsIn(env, "", 0)
		if err != nil {
			return err
		}
		segs, err := t.segmentSet(env)
		if err != nil {
			return err
		}
		set = &flags.Set{Flags: make(map[string]*flags.Flag, len(fs)), Segments: segs}
		for _, f := range fs {
			set.Flags[f.Definition.Key] = f.Eval()
		}
		return nil
	})
	return set, rev, err
}
