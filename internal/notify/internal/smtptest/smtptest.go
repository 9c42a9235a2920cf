package smtptest

import (
	"bufio"
	"crypto/tls"
	"encoding/base64"
	"fmt"
	"net"
	"strings"
	"sync"
	"testing"
	"time"
)

// Options shape the server's behaviour.
type Options struct {
	// TLS, if set, makes the server offer STARTTLS with this configuration.
	TLS *tls.Config
	// Username and Password, if set, make the server offer AUTH PLAIN and
	// accept only these credentials.
	Username, Password string
	// Replies replaces the server's answer to a command ("MAIL", "RCPT",
	// "DATA", "AUTH", …) with the given reply line, e.g. "550 5.1.1 no
	// such user".
	Replies map[string]string
}

// Message is one mail transaction the server accepted.
type Message struct {
	Hello string
	From  string
	To    []string
	// Data is the message as received, dot-stuffing removed, lines ending
	// in CRLF, without the final ".".
	Data []byte
	// TLS reports whether the transaction ran after STARTTLS.
	TLS bool
	// User is the authenticated user, if any.
	User string
}

// Server is a running SMTP server on 127.0.0.1.
type Server struct {
	Host string
	Port int

	opts     Options
	ln       net.Listener
	messages chan Message
	done     chan struct{}
	wg       sync.WaitGroup
	mu       sync.Mutex
	conns    map[net.Conn]bool
}

// Start starts a server that stops when the test ends.
func Start(t testing.TB, opts Options) *Server {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("smtptest: listen: %v", err)
	}
	addr := ln.Addr().(*net.TCPAddr)
	s := &Server{
		Host:     "127.0.0.1",
		Port:     addr.Port,
		opts:     opts,
		ln:       ln,
		messages: make(chan Message, 64),
		done:     make(chan struct{}),
		conns:    map[net.Conn]bool{},
	}
	s.wg.Add(1)
	go s.serve()
	t.Cleanup(s.Close)
	return s
}

// Close stops the server and waits for its goroutines.
func (s *Server) Close() {
	select {
	case <-s.done:
		return
	default:
	}
	close(s.done)
	s.ln.Close()
	s.mu.Lock()
	for c := range s.conns {
		c.Close()
	}
	s.mu.Unlock()
	s.wg.Wait()
}

// Next returns the next accepted message, failing the test if none arrives
// within a few seconds.
func (s *Server) Next(t testing.TB) Message {
	t.Helper()
	select {
	case m := <-s.messages:
		return m
	case <-time.After(5 * time.Second):
		t.Fatal("smtptest: no message received")
		return Message{}
	}
}

// Received returns the messages accepted so far without waiting.
func (s *Server) Received() []Message {
	var ms []Message
	for {
		select {
		case m := <-s.messages:
			ms = append(ms, m)
		default:
			return ms
		}
	}
}

func (s *Server) serve() {
	defer s.wg.Done()
	for {
		c, err := s.ln.Accept()
		if err != nil {
			return
		}
		s.mu.Lock()
		s.conns[c] = true
		s.mu.Unlock()
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			s.session(c)
			s.mu.Lock()
			delete(s.conns, c)
			s.mu.Unlock()
			c.Close()
		}()
	}
}

type session struct {
	conn net.Conn
	r    *bufio.Reader
	w    *bufio.Writer
	tls  bool
	user string
	msg  Message
}

func (s *Server) session(c net.Conn) {
	ss := &session{conn: c, r: bufio.NewReader(c), w: bufio.NewWriter(c)}
	ss.reply("220 smtptest ESMTP ready")
	for {
		line, err := ss.r.ReadString('\n')
		if err != nil {
			return
		}
		line = strings.TrimRight(line, "\r\n")
		verb, arg, _ := strings.Cut(line, " ")
		verb = strings.ToUpper(verb)
		if r, ok := s.opts.Replies[verb]; ok && verb != "QUIT" {
			ss.reply(r)
			continue
		}
		switch verb {
		case "EHLO":
			ss.msg = Message{Hello: arg, TLS: ss.tls, User: ss.user}
			ext := []string{"smtptest", "8BITMIME", "SIZE 10485760"}
			if s.opts.TLS != nil && !ss.tls {
				ext = append(ext, "STARTTLS")
			}
			if s.opts.Username != "" {
				ext = append(ext, "AUTH PLAIN")
			}
			for i, e := range ext {
				sep := "-"
				if i == len(ext)-1 {
					sep = " "
				}
				ss.w.WriteString("250" + sep + e + "\r\n")
			}
			ss.w.Flush()
		case "HELO":
			ss.msg = Message{Hello: arg, TLS: ss.tls, User: ss.user}
			ss.reply("250 smtptest")
		case "STARTTLS":
			if s.opts.TLS == nil || ss.tls {
				ss.reply("502 5.5.1 STARTTLS not available")
				continue
			}
			ss.reply("220 2.0.0 ready to start TLS")
			tc := tls.Server(c, s.opts.TLS)
			if err := tc.Handshake(); err != nil {
				return
			}
			ss.conn, ss.tls = tc, true
			ss.r, ss.w = bufio.NewReader(tc), bufio.NewWriter(tc)
			ss.msg = Message{}
		case "AUTH":
			ss.auth(s.opts, arg)
		case "MAIL":
			from, ok := address(arg, "FROM:")
			if !ok {
				ss.reply("501 5.5.4 syntax: MAIL FROM:<address>")
				continue
			}
			ss.msg.From, ss.msg.To = from, nil
			ss.reply("250 2.1.0 ok")
		case "RCPT":
			to, ok := address(arg, "TO:")
			if !ok {
				ss.reply("501 5.5.4 syntax: RCPT TO:<address>")
				continue
			}
			ss.msg.To = append(ss.msg.To, to)
			ss.reply("250 2.1.5 ok")
		case "DATA":
			if ss.msg.From == "" || len(ss.msg.To) == 0 {
				ss.reply("503 5.5.1 MAIL and RCPT first")
				continue
			}
			ss.reply("354 end data with <CR><LF>.<CR><LF>")
			data, err := readData(ss.r)
			if err != nil {
				return
			}
			m := ss.msg
			m.Data = data
			select {
			case s.messages <- m:
			case <-s.done:
				return
			}
			ss.msg = Message{Hello: m.Hello, TLS: ss.tls, User: ss.user}
			ss.reply("250 2.0.0 queued")
		case "RSET":
			ss.msg = Message{Hello: ss.msg.Hello, TLS: ss.tls, User: ss.user}
			ss.reply("250 2.0.0 ok")
		case "NOOP":
			ss.reply("250 2.0.0 ok")
		case "QUIT":
			ss.reply("221 2.0.0 bye")
			return
		default:
			ss.reply("502 5.5.2 command not recognized")
		}
	}
}

func (ss *session) reply(line string) {
	ss.w.WriteString(line + "\r\n")
	ss.w.Flush()
}

func (ss *session) auth(opts Options, arg string) {
	mech, initial, _ := strings.Cut(arg, " ")
	if opts.Username == "" || !strings.EqualFold(mech, "PLAIN") {
		ss.reply("504 5.5.4 unrecognized authentication type")
		return
	}
	if initial == "" {
		ss.reply("334 ")
		line, err := ss.r.ReadString('\n')
		if err != nil {
			return
		}
		initial = strings.TrimRight(line, "\r\n")
	}
	raw, err := base64.StdEncoding.DecodeString(initial)
	parts := strings.Split(string(raw), "\x00")
	if err != nil || len(parts) != 3 || parts[1] != opts.Username || parts[2] != opts.Password {
		ss.reply("535 5.7.8 authentication credentials invalid")
		return
	}
	ss.user = parts[1]
	ss.msg.User = ss.user
	ss.reply("235 2.7.0 authentication succeeded")
}

// address reads "FROM:<a@b> PARAMS" (case-insensitively prefixed).
func address(arg, prefix string) (string, bool) {
	if len(arg) < len(prefix) || !strings.EqualFold(arg[:len(prefix)], prefix) {
		return "", false
	}
	rest := strings.TrimSpace(arg[len(prefix):])
	if !strings.HasPrefix(rest, "<") {
		return "", false
	}
	end := strings.IndexByte(rest, '>')
	if end < 0 {
		return "", false
	}
	return rest[1:end], true
}

// readData reads DATA lines up to the lone ".", undoing dot-stuffing.
func readData(r *bufio.Reader) ([]byte, error) {
	var data []byte
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			return nil, fmt.Errorf("read data: %w", err)
		}
		if line == ".\r\n" || line == ".\n" {
			return data, nil
		}
		line = strings.TrimPrefix(line, ".")
		data = append(data, line...)
	}
}
