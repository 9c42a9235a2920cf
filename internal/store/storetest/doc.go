// Package storetest is the contract every store engine must meet, shaped like
// testing/slogtest: [Run] runs named cases, each with an explanation of the rule it
// checks, against stores the engine opens. An engine's own tests call it with a
// function that opens an empty store:
//
//	func TestContract(t *testing.T) {
//		storetest.Run(t, func(t *testing.T) store.Store { return openEmpty(t) })
//	}
//
// [RunTamper] checks that the audit chain exposes a row edited behind the store's back;
// it needs the engine's help to edit that row.
package storetest
