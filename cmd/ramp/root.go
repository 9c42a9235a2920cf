package main

import (
	"io"

	"github.com/spf13/cobra"
)

// version is set at build time with -ldflags "-X main.version=…".
var version = "dev"

func newRootCommand(stdout, stderr io.Writer, getenv func(string) string) *cobra.Command {
	root := &cobra.Command{
		Use:   "ramp",
		Short: "Roll AI features out safely: flags, staged rollouts, automatic rollback",
		Long: `ramp rolls features out in small, measured steps and takes them back the moment
the data says they hurt.

  ramp serve                 run the server (embedded storage in ./ramp-data, http://127.0.0.1:8070)
  ramp flags list            talk to a server (set RAMP_URL and RAMP_TOKEN)`,
		SilenceUsage:  true,
		SilenceErrors: true,
		Version:       version,
	}
	root.SetOut(stdout)
	root.SetErr(stderr)
	root.AddCommand(newServeCommand(getenv))
	root.AddCommand(newDemoCommand())
	root.AddCommand(newSimulateCommand())
	addClientCommands(root, getenv)
	return root
}
