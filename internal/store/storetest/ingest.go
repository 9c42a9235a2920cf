package storetest

// ingestCases check the aggregator checkpoint and metric definitions.
var ingestCases []testCase
