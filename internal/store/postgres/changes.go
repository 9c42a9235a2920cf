package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/ramp-release/ramp/internal/store"
)

// Timings of the change feed's connection.
const (
	// feedIdle is how long the feed waits for a notification before it checks
	// that its connection still answers: a connection cut without a word (a dead
	// peer, a silent proxy) is noticed this soon.
	feedIdle = 15 * time.Second
	// feedPing bounds that check.
	feedPing = 5 * time.Second
	// feedRetryMin and feedRetryMax bound the wait between reconnection attempts.
	feedRetryMin = 100 * time.Millisecond
	feedRetryMax = 5 * time.Second
)

// Changes listens, on a connection of its own, to the notifications that every
// change of an environment's revision sends in its transaction (see Open), and
// passes on the environment keys. Each time it (re)connects it sends
// store.AllEnvironments, since notifications sent while it was not listening are
// lost. The channel is closed when ctx ends.
func (s *Store) Changes(ctx context.Context) (<-chan string, error) {
	out := make(chan string, 256)
	go s.listen(ctx, out)
	return out, nil
}

func (s *Store) listen(ctx context.Context, out chan<- string) {
	defer close(out)
	wait := feedRetryMin
	var failing error
	for ctx.Err() == nil {
		err := s.listenOnce(ctx, out, func() {
			wait = feedRetryMin
			if failing != nil {
				s.log.Info("change feed: listening again", "channel", s.channel)
				failing = nil
			}
		})
		if ctx.Err() != nil {
			return
		}
		if failing == nil {
			// Logged once per outage; the SDK streams of this replica fall back on
			// comparing revisions meanwhile.
			s.log.Warn("change feed: lost the LISTEN connection; retrying (changes on other replicas reach this one by polling meanwhile)", "err", err)
		}
		failing = err
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
		wait = min(2*wait, feedRetryMax)
	}
}

// listenOnce connects, listens and forwards notifications until the connection
// fails or ctx ends; connected is called once it listens.
func (s *Store) listenOnce(ctx context.Context, out chan<- string, connected func()) error {
	conn, err := pgx.ConnectConfig(ctx, s.cfg.Copy())
	if err != nil {
		return fmt.Errorf("connect: %w", err)
	}
	defer func() {
		cctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		conn.Close(cctx)
	}()
	if _, err := conn.Exec(ctx, "LISTEN "+pgx.Identifier{s.channel}.Sanitize()); err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	connected()
	if !send(ctx, out, store.AllEnvironments) {
		return ctx.Err()
	}
	for {
		wctx, cancel := context.WithTimeout(ctx, feedIdle)
		n, err := conn.WaitForNotification(wctx)
		cancel()
		switch {
		case err == nil:
			if !send(ctx, out, n.Payload) {
				return ctx.Err()
			}
		case ctx.Err() != nil:
			return ctx.Err()
		case errors.Is(err, context.DeadlineExceeded) && !conn.IsClosed():
			// Idle: check that the connection still answers.
			pctx, cancel := context.WithTimeout(ctx, feedPing)
			err := conn.Ping(pctx)
			cancel()
			if err != nil {
				return fmt.Errorf("ping: %w", err)
			}
		default:
			return fmt.Errorf("wait for notifications: %w", err)
		}
	}
}

func send(ctx context.Context, out chan<- string, env string) bool {
	select {
	case out <- env:
		return true
	case <-ctx.Done():
		return false
	}
}
