package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"time"

	"github.com/spf13/cobra"

	"github.com/ramp-release/ramp/internal/report"
)

// reportCommand is `ramp report ROLLOUT` and `ramp report --portfolio`.
func reportCommand(client clientFunc, opts *clientOptions) *cobra.Command {
	var (
		portfolio, asJSON bool
		usage, template   string
		asOf              string
		limit             int
	)
	cmd := &cobra.Command{
		Use:   "report [ROLLOUT]",
		Short: "Report on a rollout (velocity, issue detection, adoption, business impact) or across rollouts",
		Long: `ramp report ROLLOUT tells how a rollout went, from the data ramp stored while it ran:
the time from 0 to 100 % and in each stage, every pause and rollback with its reason,
how quickly each issue was caught (from the stage's start and from the first tick
whose evidence crossed the line) and how many units were exposed meanwhile, adoption
of the feature, and each success metric's difference with its interval.

ramp report --portfolio summarises rollouts: median velocity, detection speed and
rollback rate, overall and per environment, template and month. It covers every
environment unless --env is given.

Markdown by default; --json prints the API's document.`,
		Example: `  ramp report ro_3f2a9c1b
  ramp report ro_3f2a9c1b --usage smart_reply_used --json
  ramp report --portfolio
  ramp report --portfolio -e production --template ai-standard`,
		Args: func(cmd *cobra.Command, args []string) error {
			switch {
			case portfolio && len(args) > 0:
				return errors.New("give a rollout id or --portfolio, not both")
			case !portfolio && len(args) != 1:
				return errors.New("give the rollout id (ramp rollout list shows them), or --portfolio")
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			if asOf != "" {
				if _, err := time.Parse(time.RFC3339, asOf); err != nil {
					return fmt.Errorf("--as-of %q: use an RFC 3339 time such as 2026-03-02T09:00:00Z", asOf)
				}
			}
			c, err := client()
			if err != nil {
				return err
			}
			q := url.Values{}
			if asOf != "" {
				q.Set("as_of", asOf)
			}
			var path string
			if portfolio {
				if cmd.Flags().Changed("env") {
					q.Set("environment", opts.env)
				}
				if template != "" {
					q.Set("template", template)
				}
				if limit > 0 {
					q.Set("limit", fmt.Sprint(limit))
				}
				path = "/api/v1/reports/portfolio"
			} else {
				if usage != "" {
					q.Set("usage", usage)
				}
				path = "/api/v1/rollouts/" + url.PathEscape(args[0]) + "/report"
			}
			if len(q) > 0 {
				path += "?" + q.Encode()
			}
			var raw json.RawMessage
			if _, err := c.do(cmd.Context(), "GET", path, nil, &raw, nil); err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			if asJSON || opts.output == "json" {
				var b bytes.Buffer
				if err := json.Indent(&b, raw, "", "  "); err != nil {
					return err
				}
				b.WriteByte('\n')
				_, err := out.Write(b.Bytes())
				return err
			}
			var text string
			if portfolio {
				var pf report.Portfolio
				if err := json.Unmarshal(raw, &pf); err != nil {
					return fmt.Errorf("decode the portfolio: %w", err)
				}
				text = pf.Markdown()
			} else {
				var rep report.Report
				if err := json.Unmarshal(raw, &rep); err != nil {
					return fmt.Errorf("decode the report: %w", err)
				}
				text = rep.Markdown()
			}
			_, err = fmt.Fprint(out, text)
			return err
		},
	}
	f := cmd.Flags()
	f.BoolVar(&portfolio, "portfolio", false, "report across rollouts instead of on one")
	f.BoolVar(&asJSON, "json", false, "print JSON instead of Markdown")
	f.StringVar(&usage, "usage", "", "the usage metric for adoption (default: the plan's first success metric)")
	f.StringVar(&template, "template", "", "portfolio: only rollouts of this template (or plan)")
	f.IntVar(&limit, "limit", 0, "portfolio: at most this many rollouts, newest first (default 200)")
	f.StringVar(&asOf, "as-of", "", "measure what is still going on up to this RFC 3339 time instead of now")
	return cmd
}
