// Package openfeature is ramp's provider for the OpenFeature Go SDK
// (github.com/open-feature/go-sdk): applications written against the vendor-neutral
// OpenFeature API evaluate ramp flags in-process, through an [sdk.Client].
//
// The provider maps ramp's evaluation onto OpenFeature's one to one: the reasons
// (STATIC, TARGETING_MATCH, SPLIT, DEFAULT, DISABLED, ERROR) and error codes have the
// same names, a flag's metadata is exactly what the flag defines, and each OpenFeature
// type asks for one ramp type (Boolean bool, String string, Integer int, Float float,
// Object json), anything else being a TYPE_MISMATCH. The client's status becomes
// provider events: READY, CONFIGURATION_CHANGED with the changed flag keys, STALE when
// the stream is lost, ERROR after the grace period, and ERROR with PROVIDER_FATAL (the
// FATAL state) when the server rejects the SDK key. OpenFeature's Track becomes a ramp
// metric event, sent with the exposures.
//
//	provider := openfeature.New(sdk.Config{URL: "https://ramp.internal:8070", SDKKey: key})
//	if err := of.SetProviderAndWait(provider); err != nil { … }
//	client := of.NewDefaultClient()
//	on, _ := client.BooleanValue(ctx, "summarize", false, of.NewEvaluationContext("user-42", nil))
package openfeature
