// Package slack posts rollout events to a Slack channel through an incoming
// webhook: a message with a plain-text summary (what notifications and
// screen readers show) and Block Kit blocks for the channel, with an emoji
// per kind, the flag, environment, stage, reason and evidence.
//
// The webhook URL is the credential (anyone holding it can post to the
// channel), so it is a SecretURL and never appears in an error.
package slack
