// Package conformance checks ramp against clients that nobody here wrote.
//
// Its tests run the upstream OpenFeature Gherkin suites (evaluation_v2.feature and
// metadata.feature from the OpenFeature specification, kept beside the repository in
// ../shared/openfeature/spec-6fd4d54a, or in OPENFEATURE_GHERKIN_DIR) with godog,
// through an OpenFeature provider, against a real ramp server started in-process on an
// embedded SQLite store. The flags of the suites' test-flags.json are created through
// ramp's admin API, as a user would create them.
//
// Run them with
//
//	go test ./conformance/
//
// The scenario files are test data under the Apache 2.0 licence and are never copied
// into this repository. When they are missing the tests skip, except with CI=true,
// where they fail.
package conformance
