// Package bench compares ramp's in-process flag evaluation with its peers'
// (LaunchDarkly, Unleash, go-feature-flag, flagd's core evaluator, OpenFeature)
// on the same logical flag, the same 10 000 contexts and the same machine, in
// one `go test -bench` run, so that the comparison is a ratio. It is a module of
// its own so that the peers' SDKs never enter ramp's go.mod. See README.md.
//
// Every peer is checked before it is timed (Test…Semantics): all DE and FR
// units on, 23–27 % of the others on, the same answers on a second pass.
package bench
