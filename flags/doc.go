// Package flags decides which variant of a feature flag a context gets.
//
// It is ramp's evaluation core: the server, the Go SDK, the OFREP endpoints and the
// rollout engine all call it, so they can never disagree. It does no I/O and keeps no
// globals. A [Set] of flags and segments (the JSON document the API and the SDK carry,
// see docs/flag-format.md) is validated and compiled once into an immutable [Snapshot];
// [Snapshot.Evaluate] then reads it from any number of goroutines without locks and
// without allocating. An update compiles a new Snapshot and swaps it in atomically
// (see [Holder]).
//
// # Evaluation order
//
// A disabled flag serves its off variant (or, when it has none, tells the caller to use
// its own default) with reason DISABLED. Otherwise the rules are tried in order; the
// first whose conditions all hold serves its allocation (reason TARGETING_MATCH for one
// variant, SPLIT for weights). When no rule matches, the default allocation serves
// (STATIC when the flag has no rules at all, DEFAULT when rules exist but none matched,
// SPLIT for weights). A flag without a default allocation tells the caller to use its
// own default value, with reason DEFAULT.
//
// A condition on an attribute the context lacks, or holds as null, never holds,
// whatever the operator (so "country not_in [DE]" does not match a context without a
// country): targeting on data that is not there is almost always a bug, and failing
// closed keeps it visible.
//
// # Sticky bucketing
//
// A split or a bucket condition places a unit in one of [TotalBuckets] (100 000)
// buckets. The bucket is
//
//	Bucket(salt + "/" + value, 100000)
//
// where value is the flag's bucket_by attribute or, by default (and when bucket_by is
// "key" or "targetingKey"), the context's unit key, and salt defaults to the flag key
// and stays fixed for the life of a rollout. A bucket_by value is hashed as written
// for a string, "true" or "false" for a bool, in plain decimal for a whole number
// ("1234567", whatever its Go type) and in strconv's shortest 'g' form for any other
// number. Bucket conditions use the same value, with their own salt when they give
// one, also inside the segments a flag tests. [Bucket] hashes its input with
// MurmurHash3 x86-32 (seed 0) and maps the hash h to (uint64(h) * total) >> 32, the
// mapping flagd's fractional-v2 uses, so flagd's published vectors are reproduced when
// the same string is hashed.
//
// A split's entries own consecutive bucket ranges in the order they are listed. Raising
// the first entry's weight therefore only adds buckets to it: a unit that had the
// treatment keeps it as a ring grows. Two flags with different salts bucket
// independently. A split or bucket condition evaluated without a unit key (or without
// the bucket_by attribute) is the error TARGETING_KEY_MISSING, never a silent default.
//
// Evaluation hashes only the unit's value: the hash state after salt + "/" is computed
// when the flag is compiled, since MurmurHash3 consumes its input in 4-byte blocks.
package flags
