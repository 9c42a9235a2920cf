package main

import "github.com/spf13/cobra"

// addRolloutCommands adds `ramp rollout …` and `ramp plans …`.
func addRolloutCommands(root *cobra.Command, client clientFunc, opts *clientOptions) {}
