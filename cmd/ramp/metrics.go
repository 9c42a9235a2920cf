package main

import (
	"context"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/ramp-release/ramp/flags"
	"github.com/ramp-release/ramp/internal/ingest"
	"github.com/ramp-release/ramp/internal/store"
)

// metricsDoc is what `ramp metrics apply` reads: metric definitions by key (the
// same section as `metrics:` in a `ramp apply` file).
type metricsDoc struct {
	Metrics map[string]*store.MetricDefinition `json:"metrics"`
}

func metricsCommand(client clientFunc, opts *clientOptions) *cobra.Command {
	cmd := &cobra.Command{Use: "metrics", Short: "List, show and define metrics (guardrails and gates name them)"}
	cmd.AddCommand(&cobra.Command{
		Use: "list", Short: "List metric definitions, built-in and your own", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := client()
			if err != nil {
				return err
			}
			var out struct {
				Items []store.MetricDefinition `json:"items"`
			}
			if _, err := c.do(cmd.Context(), "GET", "/api/v1/metrics", nil, &out, nil); err != nil {
				return err
			}
			if opts.output == "json" {
				return printJSON(cmd.OutOrStdout(), out.Items)
			}
			var rows [][]string
			for _, m := range out.Items {
				origin := "stored v" + fmt.Sprint(m.Version)
				if m.BuiltIn {
					origin = "built-in"
				}
				rows = append(rows, []string{m.Key, m.Kind, m.Direction, m.Event, origin})
			}
			return table(cmd.OutOrStdout(), []string{"KEY", "KIND", "DIRECTION", "EVENT", "ORIGIN"}, rows)
		},
	})
	cmd.AddCommand(&cobra.Command{
		Use: "get KEY", Short: "Show a metric definition", Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := client()
			if err != nil {
				return err
			}
			var m store.MetricDefinition
			if _, err := c.do(cmd.Context(), "GET", "/api/v1/metrics/"+url.PathEscape(args[0]), nil, &m, nil); err != nil {
				return err
			}
			return printJSON(cmd.OutOrStdout(), m)
		},
	})
	var file string
	var dryRun bool
	apply := &cobra.Command{
		Use:   "apply -f FILE",
		Short: "Create or update metric definitions from a file (metrics: {key: definition}); idempotent",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if file == "" {
				return fmt.Errorf("give the definitions with -f FILE")
			}
			js, err := readDocument(cmd, file)
			if err != nil {
				return err
			}
			var doc metricsDoc
			if err := flags.DecodeJSON(js, &doc); err != nil {
				return fmt.Errorf("%s: %w", file, err)
			}
			c, err := client()
			if err != nil {
				return err
			}
			steps, err := metricSteps(cmd.Context(), c, doc.Metrics, false)
			if err != nil {
				return err
			}
			w := cmd.OutOrStdout()
			if len(steps) == 0 {
				fmt.Fprintln(w, "no changes: the server already matches", file)
				return nil
			}
			for _, s := range steps {
				fmt.Fprintln(w, s.describe)
			}
			if dryRun {
				fmt.Fprintf(w, "%d changes (dry run: nothing applied)\n", len(steps))
				return nil
			}
			for i, s := range steps {
				if err := s.run(cmd.Context()); err != nil {
					return fmt.Errorf("step %d (%s): %w", i+1, strings.TrimSpace(s.describe), err)
				}
			}
			fmt.Fprintf(w, "applied %d changes\n", len(steps))
			return nil
		},
	}
	apply.Flags().StringVarP(&file, "file", "f", "", "the definitions (YAML or JSON); - for stdin")
	apply.Flags().BoolVar(&dryRun, "dry-run", false, "show the changes without applying them")
	cmd.AddCommand(apply)
	cmd.AddCommand(&cobra.Command{
		Use: "delete KEY", Short: "Delete a stored metric definition (a built-in it overrode comes back)", Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := client()
			if err != nil {
				return err
			}
			if _, err := c.do(cmd.Context(), "DELETE", "/api/v1/metrics/"+url.PathEscape(args[0]), nil, nil, nil); err != nil {
				return err
			}
			fmt.Fprintln(cmd.OutOrStdout(), "deleted metric", args[0])
			return nil
		},
	})
	return cmd
}

// metricSteps lists the steps that make the stored metric definitions match want
// (built-ins not listed stay as they are; prune deletes stored ones not listed).
func metricSteps(ctx context.Context, c *apiClient, want map[string]*store.MetricDefinition, prune bool) ([]step, error) {
	if len(want) == 0 && !prune {
		return nil, nil
	}
	var out struct {
		Items []store.MetricDefinition `json:"items"`
	}
	if _, err := c.do(ctx, "GET", "/api/v1/metrics", nil, &out, nil); err != nil {
		return nil, err
	}
	have := map[string]store.MetricDefinition{}
	for _, m := range out.Items {
		if !m.BuiltIn {
			have[m.Key] = m
		}
	}
	norm := func(m store.MetricDefinition) store.MetricDefinition {
		m.Version, m.BuiltIn = 0, false
		m.CreatedAt, m.UpdatedAt = time.Time{}, time.Time{}
		return m
	}
	var steps []step
	for _, key := range sortedKeys(want) {
		m := *want[key]
		if m.Key != "" && m.Key != key {
			return nil, fmt.Errorf("metrics[%q].key is %q; leave it out or make it the same", key, m.Key)
		}
		m.Key = key
		if err := ingest.ValidateMetric(&m); err != nil {
			return nil, fmt.Errorf("metrics[%q]: %w", key, err)
		}
		cur, ok := have[key]
		switch {
		case !ok:
			steps = append(steps, step{"+ metric " + key, func(ctx context.Context) error {
				_, err := c.do(ctx, "POST", "/api/v1/metrics", m, nil, nil)
				return err
			}})
		case !same(norm(cur), norm(m)):
			v := cur.Version
			steps = append(steps, step{fmt.Sprintf("~ metric %s (%s)", key, describeFields(norm(cur), norm(m))), func(ctx context.Context) error {
				_, err := c.do(ctx, "PUT", "/api/v1/metrics/"+url.PathEscape(key), m, nil, map[string]string{"If-Match": fmt.Sprintf(`"%d"`, v)})
				return err
			}})
		}
	}
	if prune {
		for _, key := range sortedKeys(have) {
			if _, ok := want[key]; !ok {
				steps = append(steps, step{"- metric " + key, func(ctx context.Context) error {
					_, err := c.do(ctx, "DELETE", "/api/v1/metrics/"+url.PathEscape(key), nil, nil, nil)
					return err
				}})
			}
		}
	}
	return steps, nil
}
