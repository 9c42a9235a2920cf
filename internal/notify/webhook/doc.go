// Package webhook posts rollout events to any HTTP endpoint, signed as the
// Standard Webhooks specification (standardwebhooks.com) says, so that a
// receiver can check with any of that specification's libraries that a
// request came from ramp, unaltered and recently.
//
// Each request carries three headers: webhook-id, which names the event and
// is the same on every retry (receivers use it to discard duplicates);
// webhook-timestamp, the attempt's time in unix seconds; and
// webhook-signature, "v1," followed by the base64 HMAC-SHA256, keyed with the
// shared secret, of id + "." + timestamp + "." + body. The body is
//
//	{"type": "rollout.rolled_back", "timestamp": "…", "data": {event}}
//
// Verify is the receiver's side: it checks a signature and refuses a
// timestamp outside a tolerance (five minutes by default) so that a captured
// request cannot be replayed later.
package webhook
