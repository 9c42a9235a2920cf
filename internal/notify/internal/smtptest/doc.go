// Package smtptest runs a small SMTP server in-process for tests: enough of
// RFC 5321 (EHLO/HELO, STARTTLS, AUTH PLAIN, MAIL, RCPT, DATA, RSET, NOOP,
// QUIT) for net/smtp to deliver a message, which the test then reads back
// exactly as it was sent.
package smtptest
