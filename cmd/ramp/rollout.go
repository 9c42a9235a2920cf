package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/ramp-release/ramp/internal/rollout"
)

// addRolloutCommands adds `ramp rollout …`, `ramp plans …` and `ramp templates …`.
func addRolloutCommands(root *cobra.Command, client clientFunc, opts *clientOptions) {
	root.AddCommand(rolloutCommand(client, opts), plansCommand(client, opts), templatesCommand(client, opts))
}

// rolloutDoc is a rollout as the API returns it.
type rolloutDoc struct {
	ID          string        `json:"id"`
	PlanName    string        `json:"plan_name"`
	Plan        rollout.Plan  `json:"plan"`
	Flag        string        `json:"flag"`
	Environment string        `json:"environment"`
	State       rollout.State `json:"state"`
	Waiting     []string      `json:"waiting"`
	RequestedBy string        `json:"requested_by"`
	Version     int64         `json:"version"`
	StageName   string        `json:"stage_name"`
	Next        *struct {
		Action string   `json:"action"`
		Holds  []string `json:"holds"`
		Reason string   `json:"reason"`
	} `json:"next"`
	Approvals []rollout.Approval `json:"approvals"`
	Decisions []decisionDoc      `json:"decisions"`
}

type decisionDoc struct {
	Seq         int64     `json:"seq"`
	At          time.Time `json:"at"`
	Actor       string    `json:"actor"`
	Kind        string    `json:"kind"`
	ToStage     int       `json:"to_stage"`
	Reason      string    `json:"reason"`
	FlagVersion int64     `json:"flag_version"`
}

func rolloutCommand(client clientFunc, opts *clientOptions) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "rollout",
		Short: "Create and drive rollouts: a release plan run for one flag in one environment",
		Long: `A rollout moves a flag's treatment through a plan's stages on evidence, and rolls
back in one step. Create one from a saved plan or a template, start or schedule it,
and watch it with 'ramp rollout status ID'. Changing a rollout takes the role
release-manager; approvals need one other than the requester (four eyes).`,
	}
	var planName, template, flag, treatment, control, file string
	create := &cobra.Command{
		Use:   "create (--plan NAME | --template NAME) [--flag KEY --treatment V --control V] [-f overrides.yaml]",
		Short: "Create a rollout (a draft) from a saved plan or a template",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := client()
			if err != nil {
				return err
			}
			overrides := map[string]any{}
			if file != "" {
				doc, err := readDocument(cmd, file)
				if err != nil {
					return err
				}
				if err := json.Unmarshal(doc, &overrides); err != nil {
					return fmt.Errorf("%s: the overrides must be a plan document: %w", file, err)
				}
			}
			for k, v := range map[string]string{"flag": flag, "treatment": treatment, "control": control} {
				if v != "" {
					overrides[k] = v
				}
			}
			// A saved plan names its environment; --env overrides it only when given.
			if cmd.Flags().Changed("env") || planName == "" {
				if _, set := overrides["environment"]; !set {
					overrides["environment"] = opts.env
				}
			}
			body := map[string]any{"overrides": overrides}
			if planName != "" {
				body["plan"] = planName
			}
			if template != "" {
				body["template"] = template
			}
			var out rolloutDoc
			if _, err := c.do(cmd.Context(), "POST", "/api/v1/rollouts", body, &out, nil); err != nil {
				return err
			}
			if opts.output == "json" {
				return printJSON(cmd.OutOrStdout(), out)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "created rollout %s of %s in %s (%d stages), a draft: start it with 'ramp rollout start %s'\n",
				out.ID, out.Flag, out.Environment, len(out.Plan.Stages), out.ID)
			return nil
		},
	}
	create.Flags().StringVar(&planName, "plan", "", "a saved plan")
	create.Flags().StringVar(&template, "template", "", "a template: "+strings.Join(rollout.TemplateNames(), ", ")+", or a saved plan")
	create.Flags().StringVar(&flag, "flag", "", "the flag to roll out")
	create.Flags().StringVar(&treatment, "treatment", "", "the variant rolled out")
	create.Flags().StringVar(&control, "control", "", "the variant everyone else keeps (and a rollback serves)")
	create.Flags().StringVarP(&file, "file", "f", "", "more overrides: a partial plan document (JSON or YAML)")
	cmd.AddCommand(create)

	var flagFilter string
	var active bool
	list := &cobra.Command{
		Use: "list", Short: "List rollouts, newest first", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := client()
			if err != nil {
				return err
			}
			q := url.Values{}
			if cmd.Flags().Changed("env") {
				q.Set("environment", opts.env)
			}
			if flagFilter != "" {
				q.Set("flag", flagFilter)
			}
			if active {
				q.Set("active", "true")
			}
			var out struct{ Items []rolloutDoc }
			if _, err := c.do(cmd.Context(), "GET", "/api/v1/rollouts?"+q.Encode(), nil, &out, nil); err != nil {
				return err
			}
			if opts.output == "json" {
				return printJSON(cmd.OutOrStdout(), out.Items)
			}
			var rows [][]string
			for _, r := range out.Items {
				rows = append(rows, []string{r.ID, r.Flag, r.Environment, string(r.State.Status), stageLabel(r), r.RequestedBy, r.State.Since.Format(time.RFC3339)})
			}
			return table(cmd.OutOrStdout(), []string{"ID", "FLAG", "ENV", "STATUS", "STAGE", "REQUESTED BY", "SINCE"}, rows)
		},
	}
	list.Flags().StringVar(&flagFilter, "flag", "", "only this flag's rollouts")
	list.Flags().BoolVar(&active, "active", false, "only unfinished rollouts")
	cmd.AddCommand(list)

	cmd.AddCommand(&cobra.Command{
		Use: "status ID", Short: "Show a rollout: where it is, what its next step waits for, approvals and decisions", Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := client()
			if err != nil {
				return err
			}
			var out rolloutDoc
			if _, err := c.do(cmd.Context(), "GET", "/api/v1/rollouts/"+url.PathEscape(args[0]), nil, &out, nil); err != nil {
				return err
			}
			if opts.output == "json" {
				return printJSON(cmd.OutOrStdout(), out)
			}
			return printStatus(cmd.OutOrStdout(), out)
		},
	})

	op := func(verb, short string, body func() (map[string]any, error)) *cobra.Command {
		return &cobra.Command{
			Use: verb + " ID", Short: short, Args: cobra.ExactArgs(1),
			RunE: func(cmd *cobra.Command, args []string) error {
				b, err := body()
				if err != nil {
					return err
				}
				c, err := client()
				if err != nil {
					return err
				}
				var out rolloutDoc
				path := "/api/v1/rollouts/" + url.PathEscape(args[0]) + "/" + verb
				if verb == "approve" {
					var res struct {
						Approval rollout.Approval `json:"approval"`
						Rollout  rolloutDoc       `json:"rollout"`
					}
					if _, err := c.do(cmd.Context(), "POST", path, b, &res, nil); err != nil {
						return err
					}
					if opts.output == "json" {
						return printJSON(cmd.OutOrStdout(), res)
					}
					fmt.Fprintf(cmd.OutOrStdout(), "approved entering stage %d for %s (requested by %s)\n", res.Approval.Stage, res.Rollout.ID, res.Approval.Requester)
					out = res.Rollout
				} else if _, err := c.do(cmd.Context(), "POST", path, b, &out, nil); err != nil {
					return err
				}
				if opts.output == "json" {
					return printJSON(cmd.OutOrStdout(), out)
				}
				fmt.Fprintf(cmd.OutOrStdout(), "%s: %s, %s\n", out.ID, out.State.Status, stageLabel(out))
				if out.State.Reason != "" {
					fmt.Fprintf(cmd.OutOrStdout(), "  %s\n", out.State.Reason)
				}
				return nil
			},
		}
	}
	withReason := func() (map[string]any, error) { return reasonBody(opts.reason), nil }
	cmd.AddCommand(op("start", "Start a rollout now (release-manager)", withReason))
	cmd.AddCommand(op("advance", "Advance to the next stage now, overriding evidence and minimums (release-manager)", withReason))
	cmd.AddCommand(op("pause", "Pause a running rollout; it keeps serving its stage (release-manager)", withReason))
	var restart bool
	resume := op("resume", "Resume a paused rollout (release-manager)", func() (map[string]any, error) {
		b := reasonBody(opts.reason)
		if restart {
			b["restart_evidence"] = true
		}
		return b, nil
	})
	resume.Flags().BoolVar(&restart, "restart-evidence", false, "start a new evidence period (after a pause for missing data, or a fix)")
	cmd.AddCommand(resume)
	cmd.AddCommand(op("rollback", "Roll back: control for everyone, at once (release-manager; --reason required)", func() (map[string]any, error) {
		if strings.TrimSpace(opts.reason) == "" {
			return nil, errors.New("say why with --reason: it goes to the audit log and the notifications")
		}
		return reasonBody(opts.reason), nil
	}))
	var at string
	schedule := op("schedule", "Schedule a rollout to start at a time (release-manager)", func() (map[string]any, error) {
		t, err := time.Parse(time.RFC3339, at)
		if err != nil {
			return nil, fmt.Errorf("--at %q: give an RFC 3339 time, e.g. 2026-03-02T09:00:00Z", at)
		}
		b := reasonBody(opts.reason)
		b["at"] = t
		return b, nil
	})
	schedule.Flags().StringVar(&at, "at", "", "when to start, RFC 3339")
	cmd.AddCommand(schedule)
	var stage int
	approve := op("approve", "Approve entering the next stage (release-manager, not the requester)", func() (map[string]any, error) {
		b := reasonBody(opts.reason)
		if stage >= 0 {
			b["stage"] = stage
		}
		return b, nil
	})
	approve.Flags().IntVar(&stage, "stage", -1, "the stage approved (default: the next one)")
	cmd.AddCommand(approve)

	cmd.AddCommand(&cobra.Command{
		Use: "decisions ID", Short: "Show a rollout's whole decision log", Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := client()
			if err != nil {
				return err
			}
			var all []decisionDoc
			after := ""
			for {
				var page struct {
					Items []decisionDoc
					Next  string
				}
				path := "/api/v1/rollouts/" + url.PathEscape(args[0]) + "/decisions?limit=1000"
				if after != "" {
					path += "&after=" + after
				}
				if _, err := c.do(cmd.Context(), "GET", path, nil, &page, nil); err != nil {
					return err
				}
				all = append(all, page.Items...)
				if page.Next == "" {
					break
				}
				after = page.Next
			}
			if opts.output == "json" {
				return printJSON(cmd.OutOrStdout(), all)
			}
			return printDecisions(cmd.OutOrStdout(), all)
		},
	})
	return cmd
}

func reasonBody(reason string) map[string]any {
	b := map[string]any{}
	if r := strings.TrimSpace(reason); r != "" {
		b["reason"] = r
	}
	return b
}

func stageLabel(r rolloutDoc) string {
	return fmt.Sprintf("%d/%d %s", r.State.Stage+1, len(r.Plan.Stages), r.StageName)
}

func printStatus(w io.Writer, r rolloutDoc) error {
	plan := "inline plan"
	if r.PlanName != "" {
		plan = "plan " + r.PlanName
	}
	fmt.Fprintf(w, "rollout %s: %s in %s (%s, requested by %s)\n", r.ID, r.Flag, r.Environment, plan, r.RequestedBy)
	fmt.Fprintf(w, "status:    %s at stage %s since %s\n", r.State.Status, stageLabel(r), r.State.Since.Format(time.RFC3339))
	if r.State.Reason != "" {
		fmt.Fprintf(w, "reason:    %s\n", r.State.Reason)
	}
	if !r.State.EvidenceStart.IsZero() {
		fmt.Fprintf(w, "evidence:  since %s\n", r.State.EvidenceStart.Format(time.RFC3339))
	}
	if r.Next != nil {
		next := r.Next.Action
		if len(r.Next.Holds) > 0 {
			next += ", waiting for " + strings.Join(r.Next.Holds, ", ")
		}
		fmt.Fprintf(w, "next:      %s\n           %s\n", next, r.Next.Reason)
	}
	for _, a := range r.Approvals {
		name := strconv.Itoa(a.Stage)
		if a.Stage < len(r.Plan.Stages) {
			name = r.Plan.Stages[a.Stage].Name
		}
		fmt.Fprintf(w, "approval:  %s approved entering %s at %s\n", a.Approver, name, a.At.Format(time.RFC3339))
	}
	if len(r.Decisions) > 0 {
		fmt.Fprintln(w, "decisions:")
		return printDecisions(w, r.Decisions)
	}
	return nil
}

func printDecisions(w io.Writer, ds []decisionDoc) error {
	var rows [][]string
	for _, d := range ds {
		flag := ""
		if d.FlagVersion > 0 {
			flag = "v" + strconv.FormatInt(d.FlagVersion, 10)
		}
		rows = append(rows, []string{strconv.FormatInt(d.Seq, 10), d.At.Format(time.RFC3339), d.Kind, d.Actor, flag, d.Reason})
	}
	return table(w, []string{"SEQ", "AT", "KIND", "BY", "FLAG", "REASON"}, rows)
}

// planDoc is a saved plan as the API returns it.
type planDoc struct {
	Name    string           `json:"name"`
	Plan    json.RawMessage  `json:"plan"`
	Version int64            `json:"version"`
	Sizing  []rollout.Sizing `json:"sizing"`
}

func plansCommand(client clientFunc, opts *clientOptions) *cobra.Command {
	cmd := &cobra.Command{Use: "plans", Short: "Manage saved release plans (also usable as templates)"}
	cmd.AddCommand(&cobra.Command{
		Use: "list", Short: "List saved plans", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := client()
			if err != nil {
				return err
			}
			items, err := listAll[planDoc](cmd, c, "/api/v1/plans")
			if err != nil {
				return err
			}
			if opts.output == "json" {
				return printJSON(cmd.OutOrStdout(), items)
			}
			var rows [][]string
			for _, p := range items {
				var pl rollout.Plan
				_ = json.Unmarshal(p.Plan, &pl)
				rows = append(rows, []string{p.Name, pl.Flag, pl.Environment, fmt.Sprint(len(pl.Stages)), pl.Template, fmt.Sprint(p.Version)})
			}
			return table(cmd.OutOrStdout(), []string{"NAME", "FLAG", "ENV", "STAGES", "TEMPLATE", "VERSION"}, rows)
		},
	})
	cmd.AddCommand(&cobra.Command{
		Use: "get NAME", Short: "Show a saved plan and each stage's recommended minimum sample", Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := client()
			if err != nil {
				return err
			}
			var out any
			if _, err := c.do(cmd.Context(), "GET", "/api/v1/plans/"+url.PathEscape(args[0]), nil, &out, nil); err != nil {
				return err
			}
			return printJSON(cmd.OutOrStdout(), out)
		},
	})
	var file string
	apply := &cobra.Command{
		Use: "apply -f FILE", Short: "Create or update a saved plan from a document (idempotent)", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if file == "" {
				return errors.New("give the plan with -f FILE")
			}
			doc, err := readDocument(cmd, file)
			if err != nil {
				return err
			}
			var body map[string]any
			if err := json.Unmarshal(doc, &body); err != nil {
				return fmt.Errorf("%s: a plan is a document (a mapping): %w", file, err)
			}
			name, _ := body["name"].(string)
			if name == "" {
				return fmt.Errorf("%s: the plan has no name", file)
			}
			c, err := client()
			if err != nil {
				return err
			}
			msg, err := applyPlan(cmd.Context(), c, name, body)
			if err != nil {
				return err
			}
			fmt.Fprintln(cmd.OutOrStdout(), msg)
			return nil
		},
	}
	apply.Flags().StringVarP(&file, "file", "f", "", "the plan (JSON or YAML); - for stdin")
	cmd.AddCommand(apply)
	cmd.AddCommand(&cobra.Command{
		Use: "delete NAME", Short: "Delete a saved plan (rollouts keep their copy)", Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := client()
			if err != nil {
				return err
			}
			if _, err := c.do(cmd.Context(), "DELETE", "/api/v1/plans/"+url.PathEscape(args[0]), nil, nil, nil); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "deleted plan %s\n", args[0])
			return nil
		},
	})
	return cmd
}

// applyPlan creates the plan, or updates it when it differs from the stored one.
// Both are compared in the server's form: durations normalised, and a plan made
// from a built-in template with no stages of its own expanded as the server does.
func applyPlan(ctx context.Context, c *apiClient, name string, body any) (string, error) {
	path := "/api/v1/plans/" + url.PathEscape(name)
	var cur planDoc
	_, err := c.do(ctx, "GET", path, nil, &cur, nil)
	var apiErr *apiError
	switch {
	case errors.As(err, &apiErr) && apiErr.Status == 404:
		if _, err := c.do(ctx, "POST", "/api/v1/plans", body, nil, nil); err != nil {
			return "", err
		}
		return "created plan " + name, nil
	case err != nil:
		return "", err
	}
	var have, want rollout.Plan
	b, err := json.Marshal(body)
	if err != nil {
		return "", err
	}
	if err := json.Unmarshal(b, &want); err != nil {
		return "", fmt.Errorf("plan %s: %w", name, err)
	}
	if base, ok := rollout.Template(want.Template); ok && len(want.Stages) == 0 {
		want = rollout.Override(base, want)
	}
	_ = json.Unmarshal(cur.Plan, &have)
	have.Name, want.Name = "", ""
	if same(have, want) {
		return "plan " + name + " unchanged", nil
	}
	if _, err := c.do(ctx, "PUT", path, body, nil, map[string]string{"If-Match": fmt.Sprintf(`"%d"`, cur.Version)}); err != nil {
		return "", err
	}
	return "updated plan " + name, nil
}

func templatesCommand(client clientFunc, opts *clientOptions) *cobra.Command {
	cmd := &cobra.Command{Use: "templates", Short: "Plan templates: built-in and saved"}
	cmd.AddCommand(&cobra.Command{
		Use: "list", Short: "List templates", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := client()
			if err != nil {
				return err
			}
			var out struct {
				Items []struct {
					Name        string       `json:"name"`
					Source      string       `json:"source"`
					Description string       `json:"description"`
					Plan        rollout.Plan `json:"plan"`
				}
			}
			if _, err := c.do(cmd.Context(), "GET", "/api/v1/templates", nil, &out, nil); err != nil {
				return err
			}
			if opts.output == "json" {
				return printJSON(cmd.OutOrStdout(), out.Items)
			}
			var rows [][]string
			for _, t := range out.Items {
				var stages []string
				for _, s := range t.Plan.Stages {
					stages = append(stages, s.Name)
				}
				rows = append(rows, []string{t.Name, t.Source, strings.Join(stages, " → "), t.Description})
			}
			return table(cmd.OutOrStdout(), []string{"NAME", "SOURCE", "STAGES", "DESCRIPTION"}, rows)
		},
	})
	cmd.AddCommand(&cobra.Command{
		Use: "get NAME", Short: "Show a template", Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := client()
			if err != nil {
				return err
			}
			var out any
			if _, err := c.do(cmd.Context(), "GET", "/api/v1/templates/"+url.PathEscape(args[0]), nil, &out, nil); err != nil {
				return err
			}
			return printJSON(cmd.OutOrStdout(), out)
		},
	})
	return cmd
}
