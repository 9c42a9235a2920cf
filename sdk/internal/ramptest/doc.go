// Package ramptest runs a real ramp server for the SDK's and the OpenFeature
// provider's tests: the real HTTP handler over the embedded SQLite store, on a
// loopback port, driven through the admin API. It can be killed and brought back on
// the same address, and it can be told to misbehave (serve broken flag documents, fail
// event requests after storing them) to exercise the SDK's fault handling.
package ramptest
