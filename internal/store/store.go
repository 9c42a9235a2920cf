// Package store defines what ramp keeps durably and the contract every storage engine
// implements: environments, flags (a definition shared by all environments and a state
// per environment), segments, API tokens, SDK keys, the hash-chained audit log and the
// durable event queue.
//
// Every mutation is one transaction together with its audit entry, and mutations of a
// flag or segment check the version the caller read (optimistic concurrency), so a
// stale write fails with ErrConflict instead of losing an update. Two engines implement
// [Store]: store/sqlite (embedded, the default) and store/postgres; the suite in
// store/storetest runs against both.
package store

import (
	"context"
	"errors"
	"time"

	"github.com/ramp-release/ramp/flags"
	"github.com/ramp-release/ramp/internal/audit"
)

// Sentinel errors; the HTTP layer maps them to statuses in one place.
var (
	ErrNotFound = errors.New("not found")
	// ErrConflict is a write based on a version that is no longer current.
	ErrConflict = errors.New("version conflict")
	// ErrExists is a create of a key that is already taken.
	ErrExists = errors.New("already exists")
	// ErrInvalid is a write the store refuses for its content, e.g. a flag set that
	// would no longer compile. Wrapped errors carry the details.
	ErrInvalid = errors.New("invalid")
)

// Change says who makes a mutation and why; it becomes the audit entry's actor and reason.
type Change struct {
	Actor  string
	Reason string
}

// Environment is a deployment stage with its own flag states, segments and SDK keys.
type Environment struct {
	Key         string    `json:"key"`
	Name        string    `json:"name"`
	Description string    `json:"description,omitempty"`
	CreatedAt   time.Time `json:"created_at"`
}

// FlagDefinition is the part of a flag shared by all environments.
type FlagDefinition struct {
	Key         string         `json:"key"`
	Type        flags.Type     `json:"type"`
	Description string         `json:"description,omitempty"`
	Variants    map[string]any `json:"variants"`
	Salt        string         `json:"salt,omitempty"`
	BucketBy    string         `json:"bucket_by,omitempty"`
	Metadata    map[string]any `json:"metadata,omitempty"`
	ClientSide  bool           `json:"client_side,omitempty"`
	Tags        []string       `json:"tags,omitempty"`
	// Version increases with every change of the definition.
	Version   int64     `json:"version"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

// FlagState is the part of a flag that each environment sets on its own.
type FlagState struct {
	Enabled    bool              `json:"enabled"`
	OffVariant string            `json:"off_variant,omitempty"`
	Rules      []flags.Rule      `json:"rules,omitempty"`
	Default    *flags.Allocation `json:"default,omitempty"`
	// Version increases with every change of the state in this environment.
	Version   int64     `json:"version"`
	UpdatedAt time.Time `json:"updated_at"`
}

// Flag is a flag as one environment sees it.
type Flag struct {
	Environment string         `json:"environment"`
	Definition  FlagDefinition `json:"definition"`
	State       FlagState      `json:"state"`
}

// Eval returns the flag in the evaluation core's model. Its version is the state's
// version, which is what SDKs and exposures key on.
func (f Flag) Eval() *flags.Flag {
	d, s := f.Definition, f.State
	return &flags.Flag{
		Key: d.Key, Type: d.Type, Description: d.Description, Variants: d.Variants,
		OffVariant: s.OffVariant, Enabled: s.Enabled, Rules: s.Rules, Default: s.Default,
		Salt: d.Salt, BucketBy: d.BucketBy, Version: s.Version, Metadata: d.Metadata,
		ClientSide: d.ClientSide, Tags: d.Tags,
	}
}

// Segment is a reusable audience in one environment.
type Segment struct {
	Environment string              `json:"environment"`
	Key         string              `json:"key"`
	Description string              `json:"description,omitempty"`
	Included    []string            `json:"included,omitempty"`
	Excluded    []string            `json:"excluded,omitempty"`
	Rules       []flags.SegmentRule `json:"rules,omitempty"`
	Version     int64               `json:"version"`
	UpdatedAt   time.Time           `json:"updated_at"`
}

// Eval returns the segment in the evaluation core's model.
func (s Segment) Eval() *flags.Segment {
	return &flags.Segment{Key: s.Key, Description: s.Description, Included: s.Included, Excluded: s.Excluded, Rules: s.Rules}
}

// Role is what an API token may do. Roles are cumulative: admin ⊇ release-manager ⊇
// editor ⊇ viewer.
type Role string

// The roles, weakest first.
const (
	RoleViewer         Role = "viewer"
	RoleEditor         Role = "editor"
	RoleReleaseManager Role = "release-manager"
	RoleAdmin          Role = "admin"
)

// Roles lists the roles, weakest first.
var Roles = []Role{RoleViewer, RoleEditor, RoleReleaseManager, RoleAdmin}

// Rank orders roles; an unknown role ranks below viewer.
func (r Role) Rank() int {
	for i, x := range Roles {
		if x == r {
			return i + 1
		}
	}
	return 0
}

// Allows reports whether r includes need.
func (r Role) Allows(need Role) bool { return r.Rank() >= need.Rank() && need.Rank() > 0 }

// APIToken is a credential for the admin API. Only the SHA-256 of the secret is kept.
type APIToken struct {
	ID        string     `json:"id"`
	Name      string     `json:"name"`
	Role      Role       `json:"role"`
	Hash      string     `json:"-"`
	Prefix    string     `json:"prefix"` // the first characters of the secret, to recognise it
	CreatedAt time.Time  `json:"created_at"`
	CreatedBy string     `json:"created_by"`
	RevokedAt *time.Time `json:"revoked_at,omitempty"`
}

// SDKKeyKind says what an SDK key may read.
type SDKKeyKind string

// Server keys read the full flag set and send events; client keys evaluate only
// client-side flags through OFREP.
const (
	SDKKeyServer SDKKeyKind = "server"
	SDKKeyClient SDKKeyKind = "client"
)

// SDKKey is a credential for SDKs in one environment. Only the SHA-256 of the secret is kept.
type SDKKey struct {
	ID          string     `json:"id"`
	Environment string     `json:"environment"`
	Kind        SDKKeyKind `json:"kind"`
	Name        string     `json:"name"`
	Hash        string     `json:"-"`
	Prefix      string     `json:"prefix"`
	CreatedAt   time.Time  `json:"created_at"`
	RevokedAt   *time.Time `json:"revoked_at,omitempty"`
}

// AuditEntry is one record of the append-only, hash-chained audit log.
type AuditEntry = audit.Entry

// AuditFilter selects audit entries; zero fields match everything. Entries come
// newest first.
type AuditFilter struct {
	Environment string
	Target      string
	Actor       string
	Action      string
	BeforeSeq   int64 // only entries with Seq < BeforeSeq (paging); 0 for no bound
	Limit       int   // at most this many; 0 for the store's default (100)
}

// EventBatch is one batch of SDK events as received, durably queued before it is
// acknowledged. The aggregator consumes batches in Seq order.
type EventBatch struct {
	Seq         int64     `json:"seq"`
	Environment string    `json:"environment"`
	BatchID     string    `json:"batch_id"`
	ReceivedAt  time.Time `json:"received_at"`
	Payload     []byte    `json:"-"`
}

// Page bounds a list: at most Limit items whose key sorts after After.
type Page struct {
	After string
	Limit int // 0 for the store's default (100); capped at 1000
}

// Store is the contract both engines implement. Methods that mutate take a Change
// and write its audit entry in the same transaction. Methods return ErrNotFound,
// ErrConflict, ErrExists or ErrInvalid (wrapped with context) as documented.
type Store interface {
	RolloutStore
	IngestStore
	LeaseStore

	// Ping checks that the store answers.
	Ping(ctx context.Context) error
	Close() error

	// CreateEnvironment stores env and gives every existing flag its initial state
	// there (see CreateFlag), with version 1.
	CreateEnvironment(ctx context.Context, env Environment, c Change) (Environment, error)
	GetEnvironment(ctx context.Context, key string) (Environment, error)
	ListEnvironments(ctx context.Context) ([]Environment, error)

	// CreateFlag stores a definition and gives every environment the state init; the
	// new states have version 1. init must compile in every existing environment
	// (ErrInvalid otherwise). It is also kept as the template for environments created
	// later, which get it when it compiles there (a new environment has no segments,
	// and the definition may have changed since) and otherwise a disabled state that
	// serves nothing.
	CreateFlag(ctx context.Context, def FlagDefinition, init FlagState, c Change) error
	// UpdateFlagDefinition replaces the shared definition if its version is still
	// expectVersion; it fails with ErrInvalid when any environment's state would stop
	// compiling (e.g. a rule serves a removed variant).
	UpdateFlagDefinition(ctx context.Context, def FlagDefinition, expectVersion int64, c Change) (FlagDefinition, error)
	// UpdateFlagState replaces the state in env if its version is still expectVersion,
	// and fails with ErrInvalid when the flag would not compile (e.g. it tests a
	// segment env does not have).
	UpdateFlagState(ctx context.Context, env, key string, state FlagState, expectVersion int64, c Change) (Flag, error)
	GetFlag(ctx context.Context, env, key string) (Flag, error)
	ListFlags(ctx context.Context, env string, p Page) ([]Flag, error)
	DeleteFlag(ctx context.Context, key string, c Change) error

	// PutSegment creates the segment when expectVersion is 0, otherwise replaces it if
	// its version is still expectVersion.
	PutSegment(ctx context.Context, seg Segment, expectVersion int64, c Change) (Segment, error)
	GetSegment(ctx context.Context, env, key string) (Segment, error)
	ListSegments(ctx context.Context, env string, p Page) ([]Segment, error)
	// DeleteSegment fails with ErrInvalid while a flag or another segment of the
	// environment references the segment.
	DeleteSegment(ctx context.Context, env, key string, c Change) error

	// Snapshot returns the environment's whole flag set and its revision, read in one
	// consistent transaction. The revision increases with every change visible in env.
	Snapshot(ctx context.Context, env string) (*flags.Set, int64, error)
	// Revision returns the environment's current revision.
	Revision(ctx context.Context, env string) (int64, error)

	CreateAPIToken(ctx context.Context, t APIToken, c Change) (APIToken, error)
	APITokenByHash(ctx context.Context, hash string) (APIToken, error)
	ListAPITokens(ctx context.Context) ([]APIToken, error)
	// RevokeAPIToken revokes a token; revoking a revoked token changes nothing.
	RevokeAPIToken(ctx context.Context, id string, c Change) error
	// CountAPITokens counts tokens that are not revoked (0 means bootstrap is needed).
	CountAPITokens(ctx context.Context) (int, error)

	CreateSDKKey(ctx context.Context, k SDKKey, c Change) (SDKKey, error)
	SDKKeyByHash(ctx context.Context, hash string) (SDKKey, error)
	// ListSDKKeys lists env's keys, or every environment's when env is "".
	ListSDKKeys(ctx context.Context, env string) ([]SDKKey, error)
	// RevokeSDKKey revokes a key; revoking a revoked key changes nothing.
	RevokeSDKKey(ctx context.Context, id string, c Change) error

	// AppendAudit writes an entry that is not the side effect of another mutation
	// (e.g. a sign-in or an exported configuration). The store sets Seq, PrevHash,
	// Hash, and Time when zero; it fails with ErrInvalid without an actor and an
	// action or when Before or After is not valid JSON.
	AppendAudit(ctx context.Context, e AuditEntry) (AuditEntry, error)
	ListAudit(ctx context.Context, f AuditFilter) ([]AuditEntry, error)
	// AllAudit returns every entry in Seq order, for verification.
	AllAudit(ctx context.Context) ([]AuditEntry, error)

	// AppendEventBatch durably queues a batch. A batch id seen before in the same
	// environment is not stored again: duplicate is true and seq is the first copy's.
	AppendEventBatch(ctx context.Context, env, batchID string, payload []byte) (seq int64, duplicate bool, err error)
	// EventBatches returns up to limit batches with Seq > after, in Seq order (limit
	// 0 means 100; at most 1000).
	EventBatches(ctx context.Context, after int64, limit int) ([]EventBatch, error)
}
