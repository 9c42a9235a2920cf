package sdk_test

import (
	"context"
	"fmt"
	"time"

	"github.com/ramp-release/ramp/flags"
	"github.com/ramp-release/ramp/sdk"
)

// A client that runs offline from a file evaluates exactly as one following a server.
// With a server, give URL and SDKKey instead of OfflineFile, and Close the client on
// shutdown so that its queued exposures are sent.
func Example() {
	ctx := context.Background()
	client, err := sdk.New(ctx, sdk.Config{OfflineFile: "testdata/offline.json"})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer client.Close(ctx)

	waitCtx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if err := client.WaitReady(waitCtx); err != nil {
		fmt.Println(err)
		return
	}

	user := flags.Context{Key: "user-42", Attributes: map[string]any{"country": "DE", "plan": "pro"}}
	d := client.JSONDetail("summarize", user, nil)
	fmt.Println(d.Value.(map[string]any)["model"], d.Variant, d.Reason, d.RuleID, d.Version)

	// A type the flag does not have is an error, and the default comes back.
	b := client.BoolDetail("summarize", user, false)
	fmt.Println(b.Value, b.Reason, b.ErrorCode)
	// Output:
	// large-v2 treatment TARGETING_MATCH eu-first 4
	// false ERROR TYPE_MISMATCH
}
