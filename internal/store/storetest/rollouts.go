package storetest

// rolloutCases check plans, rollouts, decisions, approvals and channels.
var rolloutCases []testCase
