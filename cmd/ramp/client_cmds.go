package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/url"
	"os"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/ramp-release/ramp/flags"
)

var readFile = os.ReadFile

// clientOptions are the flags every API command shares.
type clientOptions struct {
	env    string
	reason string
	output string
}

// addClientCommands adds the commands that talk to a server through its API.
func addClientCommands(root *cobra.Command, getenv func(string) string) {
	opts := &clientOptions{}
	defEnv := getenv("RAMP_ENV")
	if defEnv == "" {
		defEnv = "development"
	}
	root.PersistentFlags().StringVarP(&opts.env, "env", "e", defEnv, "environment (RAMP_ENV)")
	root.PersistentFlags().StringVar(&opts.reason, "reason", "", "why you make this change (recorded in the audit log)")
	root.PersistentFlags().StringVarP(&opts.output, "output", "o", "table", "table or json")
	client := func() (*apiClient, error) { return newAPIClient(getenv, opts.reason) }

	root.AddCommand(envCommand(client, opts), flagsCommand(client, opts), segmentsCommand(client, opts),
		tokensCommand(client, opts), sdkKeysCommand(client, opts), auditCommand(client, opts),
		applyCommand(client, opts), exportCommand(client, opts))
	root.AddCommand(metricsCommand(client, opts))
	root.AddCommand(reportCommand(client, opts))
	addRolloutCommands(root, client, opts)
}

type clientFunc func() (*apiClient, error)

// printJSON writes v indented.
func printJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// table prints rows under a header, aligned.
func table(w io.Writer, header []string, rows [][]string) error {
	tw := tabwriter.NewWriter(w, 2, 4, 2, ' ', 0)
	fmt.Fprintln(tw, strings.Join(header, "\t"))
	for _, r := range rows {
		fmt.Fprintln(tw, strings.Join(r, "\t"))
	}
	return tw.Flush()
}

// readDocument reads a JSON or YAML file ("-" for stdin) and returns it as JSON.
func readDocument(cmd *cobra.Command, path string) ([]byte, error) {
	var data []byte
	var err error
	if path == "-" {
		data, err = io.ReadAll(cmd.InOrStdin())
	} else {
		data, err = os.ReadFile(path)
	}
	if err != nil {
		return nil, err
	}
	js, err := yamlToJSON(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return js, nil
}

func envCommand(client clientFunc, opts *clientOptions) *cobra.Command {
	cmd := &cobra.Command{Use: "env", Short: "List and create environments"}
	cmd.AddCommand(&cobra.Command{
		Use: "list", Short: "List environments", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := client()
			if err != nil {
				return err
			}
			var out struct {
				Items []struct {
					Key, Name, Description string
					CreatedAt              time.Time `json:"created_at"`
				} `json:"items"`
			}
			if _, err := c.do(cmd.Context(), "GET", "/api/v1/environments", nil, &out, nil); err != nil {
				return err
			}
			if opts.output == "json" {
				return printJSON(cmd.OutOrStdout(), out.Items)
			}
			var rows [][]string
			for _, e := range out.Items {
				rows = append(rows, []string{e.Key, e.Name, e.CreatedAt.Format(time.DateOnly)})
			}
			return table(cmd.OutOrStdout(), []string{"KEY", "NAME", "CREATED"}, rows)
		},
	})
	var name string
	create := &cobra.Command{
		Use: "create KEY", Short: "Create an environment", Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := client()
			if err != nil {
				return err
			}
			var out map[string]any
			if _, err := c.do(cmd.Context(), "POST", "/api/v1/environments", map[string]string{"key": args[0], "name": name}, &out, nil); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "created environment %s\n", args[0])
			return nil
		},
	}
	create.Flags().StringVar(&name, "name", "", "display name")
	cmd.AddCommand(create)
	return cmd
}

// flagRow is what the API returns for a flag in an environment.
type flagRow struct {
	flags.Flag
	Environment string `json:"environment"`
}

func flagsCommand(client clientFunc, opts *clientOptions) *cobra.Command {
	cmd := &cobra.Command{Use: "flags", Short: "Manage flags"}
	cmd.AddCommand(&cobra.Command{
		Use: "list", Short: "List the flags of an environment", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := client()
			if err != nil {
				return err
			}
			items, err := listAll[flagRow](cmd, c, "/api/v1/environments/"+url.PathEscape(opts.env)+"/flags")
			if err != nil {
				return err
			}
			if opts.output == "json" {
				return printJSON(cmd.OutOrStdout(), items)
			}
			var rows [][]string
			for _, f := range items {
				state := "off"
				if f.Enabled {
					state = "on"
				}
				rows = append(rows, []string{f.Key, string(f.Type), state, fmt.Sprint(len(f.Rules)), serving(&f.Flag), fmt.Sprint(f.Version)})
			}
			return table(cmd.OutOrStdout(), []string{"KEY", "TYPE", "STATE", "RULES", "DEFAULT", "VERSION"}, rows)
		},
	})
	cmd.AddCommand(&cobra.Command{
		Use: "get KEY", Short: "Show a flag as an environment serves it", Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := client()
			if err != nil {
				return err
			}
			var out any
			if _, err := c.do(cmd.Context(), "GET", "/api/v1/environments/"+url.PathEscape(opts.env)+"/flags/"+url.PathEscape(args[0]), nil, &out, nil); err != nil {
				return err
			}
			return printJSON(cmd.OutOrStdout(), out)
		},
	})
	var file, typ string
	var variants []string
	create := &cobra.Command{
		Use:   "create [KEY]",
		Short: "Create a flag from a file (-f flag.yaml) or from flags (--type bool)",
		Long: `Create a flag in every environment. Either give a flag document (JSON or YAML, see
docs/flag-format.md) with -f, or a key and a type: a bool flag gets variants on/off,
is disabled and serves off.`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := client()
			if err != nil {
				return err
			}
			var body any
			switch {
			case file != "":
				doc, err := readDocument(cmd, file)
				if err != nil {
					return err
				}
				var m map[string]any
				if err := json.Unmarshal(doc, &m); err != nil {
					return err
				}
				if len(args) == 1 {
					m["key"] = args[0]
				}
				body = m
			case len(args) == 1:
				f, err := quickFlag(args[0], typ, variants)
				if err != nil {
					return err
				}
				body = f
			default:
				return fmt.Errorf("give a flag document with -f FILE, or a KEY and --type")
			}
			var out struct {
				Key string `json:"key"`
			}
			if _, err := c.do(cmd.Context(), "POST", "/api/v1/flags", body, &out, nil); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "created flag %s in every environment\n", out.Key)
			return nil
		},
	}
	create.Flags().StringVarP(&file, "file", "f", "", "a flag document (JSON or YAML); - for stdin")
	create.Flags().StringVar(&typ, "type", "bool", "bool, string, int, float or json (without -f)")
	create.Flags().StringSliceVar(&variants, "variant", nil, "NAME=VALUE, repeatable (without -f; bool flags default to on=true,off=false)")
	cmd.AddCommand(create)
	cmd.AddCommand(&cobra.Command{
		Use: "delete KEY", Short: "Delete a flag in every environment", Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := client()
			if err != nil {
				return err
			}
			if _, err := c.do(cmd.Context(), "DELETE", "/api/v1/flags/"+url.PathEscape(args[0]), nil, nil, nil); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "deleted flag %s\n", args[0])
			return nil
		},
	})
	for _, on := range []bool{true, false} {
		verb := map[bool]string{true: "enable", false: "disable"}[on]
		cmd.AddCommand(&cobra.Command{
			Use: verb + " KEY", Short: strings.ToUpper(verb[:1]) + verb[1:] + " a flag in an environment", Args: cobra.ExactArgs(1),
			RunE: func(cmd *cobra.Command, args []string) error {
				c, err := client()
				if err != nil {
					return err
				}
				var out flagRow
				if _, err := c.do(cmd.Context(), "POST", "/api/v1/environments/"+url.PathEscape(opts.env)+"/flags/"+url.PathEscape(args[0])+"/"+verb, nil, &out, nil); err != nil {
					return err
				}
				fmt.Fprintf(cmd.OutOrStdout(), "%sd flag %s in %s (version %d)\n", verb, args[0], opts.env, out.Version)
				return nil
			},
		})
	}
	return cmd
}

// serving describes what a flag's default allocation serves.
func serving(f *flags.Flag) string {
	switch {
	case f.Default == nil:
		return "(caller's default)"
	case f.Default.Variant != "":
		return f.Default.Variant
	}
	parts := make([]string, len(f.Default.Split))
	for i, w := range f.Default.Split {
		parts[i] = fmt.Sprintf("%s %g%%", w.Variant, float64(w.Weight)/1000)
	}
	return strings.Join(parts, " / ")
}

// quickFlag builds a flag document from command-line flags.
func quickFlag(key, typ string, variants []string) (map[string]any, error) {
	vs := map[string]any{}
	if len(variants) == 0 {
		if typ != "bool" {
			return nil, fmt.Errorf("a %s flag needs --variant NAME=VALUE (at least one)", typ)
		}
		vs["on"], vs["off"] = true, false
	}
	first := ""
	for _, v := range variants {
		name, raw, ok := strings.Cut(v, "=")
		if !ok {
			return nil, fmt.Errorf("--variant %q: write it as NAME=VALUE", v)
		}
		if first == "" {
			first = name
		}
		var val any
		if typ == "string" {
			val = raw
		} else if err := json.Unmarshal([]byte(raw), &val); err != nil {
			return nil, fmt.Errorf("--variant %q: the value is not valid JSON for a %s flag: %v", v, typ, err)
		}
		vs[name] = val
	}
	off := first
	if _, ok := vs["off"]; ok {
		off = "off"
	}
	return map[string]any{"key": key, "type": typ, "variants": vs, "off_variant": off, "enabled": false, "default": map[string]any{"variant": off}}, nil
}

// listAll follows a paged list to its end.
func listAll[T any](cmd *cobra.Command, c *apiClient, path string) ([]T, error) {
	var all []T
	after := ""
	for {
		var page struct {
			Items []T    `json:"items"`
			Next  string `json:"next"`
		}
		p := path + "?limit=1000"
		if after != "" {
			p += "&after=" + url.QueryEscape(after)
		}
		if _, err := c.do(cmd.Context(), "GET", p, nil, &page, nil); err != nil {
			return nil, err
		}
		all = append(all, page.Items...)
		if page.Next == "" {
			return all, nil
		}
		after = page.Next
	}
}

func segmentsCommand(client clientFunc, opts *clientOptions) *cobra.Command {
	cmd := &cobra.Command{Use: "segments", Short: "Manage segments (reusable audiences)"}
	cmd.AddCommand(&cobra.Command{
		Use: "list", Short: "List the segments of an environment", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := client()
			if err != nil {
				return err
			}
			type seg struct {
				flags.Segment
				Version int64 `json:"version"`
			}
			items, err := listAll[seg](cmd, c, "/api/v1/environments/"+url.PathEscape(opts.env)+"/segments")
			if err != nil {
				return err
			}
			if opts.output == "json" {
				return printJSON(cmd.OutOrStdout(), items)
			}
			var rows [][]string
			for _, s := range items {
				rows = append(rows, []string{s.Key, fmt.Sprint(len(s.Included)), fmt.Sprint(len(s.Excluded)), fmt.Sprint(len(s.Rules)), fmt.Sprint(s.Version)})
			}
			return table(cmd.OutOrStdout(), []string{"KEY", "INCLUDED", "EXCLUDED", "RULES", "VERSION"}, rows)
		},
	})
	cmd.AddCommand(&cobra.Command{
		Use: "get KEY", Short: "Show a segment", Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := client()
			if err != nil {
				return err
			}
			var out any
			if _, err := c.do(cmd.Context(), "GET", "/api/v1/environments/"+url.PathEscape(opts.env)+"/segments/"+url.PathEscape(args[0]), nil, &out, nil); err != nil {
				return err
			}
			return printJSON(cmd.OutOrStdout(), out)
		},
	})
	var file string
	create := &cobra.Command{
		Use: "create -f FILE", Short: "Create a segment from a document (JSON or YAML)", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if file == "" {
				return fmt.Errorf("give the segment document with -f FILE")
			}
			c, err := client()
			if err != nil {
				return err
			}
			doc, err := readDocument(cmd, file)
			if err != nil {
				return err
			}
			var body, out map[string]any
			if err := json.Unmarshal(doc, &body); err != nil {
				return err
			}
			if _, err := c.do(cmd.Context(), "POST", "/api/v1/environments/"+url.PathEscape(opts.env)+"/segments", body, &out, nil); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "created segment %v in %s\n", out["key"], opts.env)
			return nil
		},
	}
	create.Flags().StringVarP(&file, "file", "f", "", "the segment document; - for stdin")
	cmd.AddCommand(create)
	cmd.AddCommand(&cobra.Command{
		Use: "delete KEY", Short: "Delete a segment no flag references", Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := client()
			if err != nil {
				return err
			}
			if _, err := c.do(cmd.Context(), "DELETE", "/api/v1/environments/"+url.PathEscape(opts.env)+"/segments/"+url.PathEscape(args[0]), nil, nil, nil); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "deleted segment %s in %s\n", args[0], opts.env)
			return nil
		},
	})
	return cmd
}

type credential struct {
	ID          string     `json:"id"`
	Name        string     `json:"name"`
	Role        string     `json:"role"`
	Kind        string     `json:"kind"`
	Environment string     `json:"environment"`
	Prefix      string     `json:"prefix"`
	CreatedAt   time.Time  `json:"created_at"`
	RevokedAt   *time.Time `json:"revoked_at"`
}

func printCredentials(cmd *cobra.Command, opts *clientOptions, items []credential, kindCol string) error {
	if opts.output == "json" {
		return printJSON(cmd.OutOrStdout(), items)
	}
	var rows [][]string
	for _, t := range items {
		status := "active"
		if t.RevokedAt != nil {
			status = "revoked " + t.RevokedAt.Format(time.DateOnly)
		}
		kind := t.Role
		if kindCol == "KIND" {
			kind = t.Kind
		}
		rows = append(rows, []string{t.ID, t.Name, kind, t.Prefix + "…", t.CreatedAt.Format(time.DateOnly), status})
	}
	return table(cmd.OutOrStdout(), []string{"ID", "NAME", kindCol, "SECRET", "CREATED", "STATUS"}, rows)
}

func tokensCommand(client clientFunc, opts *clientOptions) *cobra.Command {
	cmd := &cobra.Command{Use: "tokens", Short: "Manage API tokens (admin)"}
	cmd.AddCommand(&cobra.Command{
		Use: "list", Short: "List API tokens", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := client()
			if err != nil {
				return err
			}
			var out struct{ Items []credential }
			if _, err := c.do(cmd.Context(), "GET", "/api/v1/tokens", nil, &out, nil); err != nil {
				return err
			}
			return printCredentials(cmd, opts, out.Items, "ROLE")
		},
	})
	var name, role string
	create := &cobra.Command{
		Use: "create --name NAME --role ROLE", Short: "Create an API token (the secret is shown once)", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := client()
			if err != nil {
				return err
			}
			var out struct {
				Credential credential `json:"credential"`
				Secret     string     `json:"secret"`
			}
			if _, err := c.do(cmd.Context(), "POST", "/api/v1/tokens", map[string]string{"name": name, "role": role}, &out, nil); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "created token %s (%s, role %s). Its secret, shown once:\n%s\n", out.Credential.ID, name, role, out.Secret)
			return nil
		},
	}
	create.Flags().StringVar(&name, "name", "", "who holds the token")
	create.Flags().StringVar(&role, "role", "viewer", "viewer, editor, release-manager or admin")
	cmd.AddCommand(create)
	cmd.AddCommand(&cobra.Command{
		Use: "revoke ID", Short: "Revoke an API token", Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := client()
			if err != nil {
				return err
			}
			if _, err := c.do(cmd.Context(), "DELETE", "/api/v1/tokens/"+url.PathEscape(args[0]), nil, nil, nil); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "revoked token %s\n", args[0])
			return nil
		},
	})
	return cmd
}

func sdkKeysCommand(client clientFunc, opts *clientOptions) *cobra.Command {
	cmd := &cobra.Command{Use: "sdk-keys", Short: "Manage an environment's SDK keys (admin)"}
	cmd.AddCommand(&cobra.Command{
		Use: "list", Short: "List SDK keys", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := client()
			if err != nil {
				return err
			}
			var out struct{ Items []credential }
			if _, err := c.do(cmd.Context(), "GET", "/api/v1/environments/"+url.PathEscape(opts.env)+"/sdk-keys", nil, &out, nil); err != nil {
				return err
			}
			return printCredentials(cmd, opts, out.Items, "KIND")
		},
	})
	var name, kind string
	create := &cobra.Command{
		Use: "create [--kind server|client]", Short: "Create an SDK key (the secret is shown once)", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := client()
			if err != nil {
				return err
			}
			var out struct {
				Credential credential `json:"credential"`
				Secret     string     `json:"secret"`
			}
			if _, err := c.do(cmd.Context(), "POST", "/api/v1/environments/"+url.PathEscape(opts.env)+"/sdk-keys", map[string]string{"name": name, "kind": kind}, &out, nil); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "created %s SDK key %s for %s. Its secret, shown once:\n%s\n", kind, out.Credential.ID, opts.env, out.Secret)
			return nil
		},
	}
	create.Flags().StringVar(&name, "name", "", "what uses the key")
	create.Flags().StringVar(&kind, "kind", "server", "server (full flag set, events) or client (client-side flags via OFREP)")
	cmd.AddCommand(create)
	cmd.AddCommand(&cobra.Command{
		Use: "revoke ID", Short: "Revoke an SDK key", Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := client()
			if err != nil {
				return err
			}
			if _, err := c.do(cmd.Context(), "DELETE", "/api/v1/sdk-keys/"+url.PathEscape(args[0]), nil, nil, nil); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "revoked SDK key %s\n", args[0])
			return nil
		},
	})
	return cmd
}

func auditCommand(client clientFunc, opts *clientOptions) *cobra.Command {
	cmd := &cobra.Command{Use: "audit", Short: "Read and verify the audit log"}
	var target, actor, action string
	var limit int
	list := &cobra.Command{
		Use: "list", Short: "List audit entries, newest first", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := client()
			if err != nil {
				return err
			}
			q := url.Values{}
			if cmd.Flags().Changed("env") {
				q.Set("environment", opts.env)
			}
			for k, v := range map[string]string{"target": target, "actor": actor, "action": action} {
				if v != "" {
					q.Set(k, v)
				}
			}
			q.Set("limit", fmt.Sprint(limit))
			var out struct {
				Items []struct {
					Seq                                        int64
					Time                                       time.Time
					Actor, Action, Environment, Target, Reason string
				}
			}
			if _, err := c.do(cmd.Context(), "GET", "/api/v1/audit?"+q.Encode(), nil, &out, nil); err != nil {
				return err
			}
			if opts.output == "json" {
				return printJSON(cmd.OutOrStdout(), out.Items)
			}
			var rows [][]string
			for _, e := range out.Items {
				rows = append(rows, []string{fmt.Sprint(e.Seq), e.Time.Format(time.RFC3339), e.Actor, e.Action, e.Environment, e.Target, e.Reason})
			}
			return table(cmd.OutOrStdout(), []string{"SEQ", "TIME", "ACTOR", "ACTION", "ENV", "TARGET", "REASON"}, rows)
		},
	}
	list.Flags().StringVar(&target, "target", "", "e.g. flag:summarize")
	list.Flags().StringVar(&actor, "actor", "", "who made the change")
	list.Flags().StringVar(&action, "action", "", "e.g. flag.state.update")
	list.Flags().IntVar(&limit, "limit", 50, "at most this many entries")
	cmd.AddCommand(list)
	cmd.AddCommand(&cobra.Command{
		Use: "verify", Short: "Check that no audit entry was altered, removed or reordered", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := client()
			if err != nil {
				return err
			}
			var out struct {
				OK       bool   `json:"ok"`
				Entries  int    `json:"entries"`
				BrokenAt int64  `json:"broken_at"`
				Problem  string `json:"problem"`
			}
			if _, err := c.do(cmd.Context(), "GET", "/api/v1/audit/verify", nil, &out, nil); err != nil {
				return err
			}
			if !out.OK {
				return fmt.Errorf("the audit log is NOT intact: %s", out.Problem)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "the audit log is intact: %d entries, every hash matches\n", out.Entries)
			return nil
		},
	})
	return cmd
}

func sortedKeys[T any](m map[string]T) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
