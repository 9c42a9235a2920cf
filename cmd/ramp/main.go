// Command ramp is the one binary of ramp: the server (ramp serve) and a CLI that talks
// to a server through its API (RAMP_URL, RAMP_TOKEN).
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	root := newRootCommand(os.Stdout, os.Stderr, os.Getenv)
	if err := root.ExecuteContext(ctx); err != nil {
		fmt.Fprintln(os.Stderr, "ramp:", err)
		os.Exit(1)
	}
}
