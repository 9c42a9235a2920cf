// Package email sends rollout events as plain-text e-mail over SMTP
// (net/smtp): one RFC 5322 message per event, to a fixed list of
// recipients, with a subject that says what happened to which flag where.
//
// The connection is upgraded with STARTTLS when the server offers it (or
// must be, or never is, as configured) and authenticates with PLAIN when a
// username is set; net/smtp refuses to send a password over an unencrypted
// connection to anything but localhost. Message-ID is derived from the
// event, so a message sent again after an ambiguous failure can be
// recognised as the same.
//
// An SMTP 5xx reply (a rejected recipient, failed authentication) is
// permanent; a 4xx reply or a network failure is retried by the pipeline.
package email
