//go:build heavy

package analysis

// heavyTag is set by building the tests with -tags heavy.
const heavyTag = true
