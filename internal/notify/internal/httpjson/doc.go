// Package httpjson sends one JSON request for the HTTP integrations of
// notify (Slack, PagerDuty, webhooks) so that they fail alike: the error
// never names the URL, a receiver's answer is classified for the retry
// policy, and redirects are not followed (a webhook that moved is a
// configuration to fix, not a POST to replay as a GET).
package httpjson
