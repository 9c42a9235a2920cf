package sdk

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
)

// maxDocumentBytes bounds a flag document read from the server.
const maxDocumentBytes = 64 << 20

// runSync keeps the snapshot current until ctx ends: fetch it, then follow the stream;
// when the stream drops, fetch again (which is the polling fallback when streaming does
// not work at all) and reconnect after a jittered exponential backoff.
func (c *Client) runSync(ctx context.Context) {
	defer close(c.syncDone)
	attempt := 0
	for {
		err := c.fetch(ctx)
		if ctx.Err() != nil {
			return
		}
		if errors.Is(err, ErrKeyRejected) {
			c.fatal(err)
			c.settle()
			return
		}
		var snapErr *SnapshotError
		reachable := err == nil || errors.As(err, &snapErr)
		if err != nil && !reachable {
			c.serverLost(err)
		}
		c.settle() // only now may WaitReady settle for a cached snapshot
		if reachable && !c.cfg.DisableStreaming {
			established, err := c.stream(ctx)
			if ctx.Err() != nil {
				return
			}
			if errors.Is(err, ErrKeyRejected) {
				c.fatal(err)
				return
			}
			if established {
				// The stream worked and was lost: the flags may be behind from now on.
				attempt = 0
				c.serverLost(fmt.Errorf("sdk: stream lost: %w", err))
			} else if err != nil {
				// Streaming does not work but fetching does: keep polling, say why.
				c.reportError(err)
			}
		}
		wait := c.cfg.PollInterval
		if !c.cfg.DisableStreaming {
			wait = min(backoff(c.cfg.ReconnectMin, c.cfg.ReconnectMax, attempt), c.cfg.PollInterval)
			attempt++
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
	}
}

// backoff is the delay before retry number attempt (0-based): exponential from lo,
// capped at hi, with "equal jitter" (half fixed, half random) so that a thousand
// clients losing the same server do not come back in lockstep.
func backoff(lo, hi time.Duration, attempt int) time.Duration {
	d := hi
	if attempt < 30 {
		d = min(lo<<attempt, hi)
	}
	half := d / 2
	return half + rand.N(d-half+1)
}

// fetch gets the snapshot with GET /sdk/v1/flags, conditional on the ETag of the last
// one fetched. It returns nil when the client is up to date, a *SnapshotError when the
// server sent a document the client refused, and other errors when the server could not
// be asked.
func (c *Client) fetch(ctx context.Context) error {
	rctx, cancel := context.WithTimeout(ctx, c.cfg.RequestTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(rctx, http.MethodGet, c.cfg.URL+"/sdk/v1/flags", nil)
	if err != nil {
		return err
	}
	c.authorize(req)
	req.Header.Set("Accept", "application/json")
	if c.etag != "" {
		req.Header.Set("If-None-Match", c.etag)
	}
	resp, err := c.cfg.HTTPClient.Do(req)
	if err != nil {
		return fmt.Errorf("sdk: fetch flags: %w", err)
	}
	defer resp.Body.Close()
	switch resp.StatusCode {
	case http.StatusNotModified:
		c.serverOK(true)
		return nil
	case http.StatusOK:
		data, err := io.ReadAll(io.LimitReader(resp.Body, maxDocumentBytes+1))
		if err != nil {
			return fmt.Errorf("sdk: fetch flags: reading the body: %w", err)
		}
		if len(data) > maxDocumentBytes {
			err := &SnapshotError{Source: "fetch", Err: fmt.Errorf("the document is larger than %d bytes", maxDocumentBytes)}
			c.rejectSnapshot(err)
			return err
		}
		if err := c.applyDocument(data, "fetch"); err != nil {
			c.etag = ""
			return err
		}
		c.etag = resp.Header.Get("ETag")
		return nil
	}
	return statusError("fetch flags", resp)
}

// stream follows GET /sdk/v1/stream until it ends. established reports whether the
// server answered with a stream and sent at least one message on it.
func (c *Client) stream(ctx context.Context) (established bool, err error) {
	sctx, cancel := context.WithCancel(ctx)
	defer cancel()
	req, err := http.NewRequestWithContext(sctx, http.MethodGet, c.cfg.URL+"/sdk/v1/stream", nil)
	if err != nil {
		return false, err
	}
	c.authorize(req)
	req.Header.Set("Accept", "text/event-stream")
	req.Header.Set("Cache-Control", "no-cache")
	if cur := c.cur.Load(); cur != nil && cur.revision > 0 {
		req.Header.Set("Last-Event-ID", strconv.FormatInt(cur.revision, 10))
	}
	var idle atomic.Bool
	watchdog := time.AfterFunc(c.cfg.RequestTimeout, func() { idle.Store(true); cancel() })
	defer watchdog.Stop()
	resp, err := c.cfg.HTTPClient.Do(req)
	if err != nil {
		return false, fmt.Errorf("sdk: stream: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return false, statusError("stream", resp)
	}
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/event-stream") {
		return false, fmt.Errorf("sdk: stream: the server answered with Content-Type %q, not text/event-stream", ct)
	}
	watchdog.Reset(c.cfg.StreamIdleTimeout)
	rd := &sseReader{br: bufio.NewReaderSize(resp.Body, 64<<10), onLine: func() { watchdog.Reset(c.cfg.StreamIdleTimeout) }}
	for {
		event, data, err := rd.next()
		if err != nil {
			if idle.Load() && ctx.Err() == nil {
				err = fmt.Errorf("nothing received for %s, not even a heartbeat", c.cfg.StreamIdleTimeout)
			}
			return established, err
		}
		if !established {
			established = true
			c.serverOK(false)
		}
		if event == "snapshot" && data != nil {
			// The event's id is the revision, which the document carries too.
			_ = c.applyDocument(data, "stream")
			c.etag = ""
		}
	}
}

// sseReader reads the messages of a server-sent event stream: the event and data
// fields and comment lines (heartbeats). The id and retry fields are ignored: the
// document carries its revision, and the client has its own backoff.
type sseReader struct {
	br *bufio.Reader
	// onLine, when set, is called for every line read (the idle watchdog).
	onLine     func()
	line, data []byte
	event      string
	hasData    bool
}

// next returns the next message: its event type and its data, nil for a message
// without data such as a heartbeat. The data is valid until the next call.
func (r *sseReader) next() (event string, data []byte, err error) {
	for {
		r.line, err = readLine(r.br, r.line)
		if err != nil {
			return "", nil, err
		}
		if r.onLine != nil {
			r.onLine()
		}
		line := r.line
		if len(line) == 0 { // a blank line ends a message
			event = r.event
			if r.hasData {
				data = r.data
			}
			r.event, r.data, r.hasData = "", r.data[:0], false
			return event, data, nil
		}
		if line[0] == ':' {
			continue // a comment
		}
		field, value, _ := bytes.Cut(line, []byte(":"))
		value = bytes.TrimPrefix(value, []byte(" "))
		switch string(field) {
		case "event":
			r.event = string(value)
		case "data":
			if r.hasData {
				r.data = append(r.data, '\n')
			}
			r.data, r.hasData = append(r.data, value...), true
		}
	}
}

// readLine reads one line of any length without its line ending, reusing buf.
func readLine(br *bufio.Reader, buf []byte) ([]byte, error) {
	buf = buf[:0]
	for {
		chunk, err := br.ReadSlice('\n')
		buf = append(buf, chunk...)
		if err == bufio.ErrBufferFull {
			if len(buf) > maxDocumentBytes {
				return nil, fmt.Errorf("a stream line is longer than %d bytes", maxDocumentBytes)
			}
			continue
		}
		if err != nil {
			return nil, err
		}
		buf = buf[:len(buf)-1]
		if n := len(buf); n > 0 && buf[n-1] == '\r' {
			buf = buf[:n-1]
		}
		return buf, nil
	}
}

func (c *Client) authorize(req *http.Request) {
	req.Header.Set("Authorization", "Bearer "+c.cfg.SDKKey)
	req.Header.Set("User-Agent", sdkName)
}

// statusError reads the problem detail of an unexpected answer.
func statusError(op string, resp *http.Response) error {
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 4<<10))
	var p struct {
		Detail string `json:"detail"`
		Title  string `json:"title"`
	}
	detail := ""
	if json.Unmarshal(body, &p) == nil {
		detail = p.Detail
		if detail == "" {
			detail = p.Title
		}
	}
	return &HTTPError{Op: op, Status: resp.StatusCode, Detail: detail}
}
