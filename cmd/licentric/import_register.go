package main

import "context"

// importCommand registers "licentric import", which import.go implements:
// it parses its own flags and prints its own messages and help.
func importCommand() *command {
	return &command{
		name:    "import",
		summary: "import products, policies and licenses from Keygen or Cryptlex",
		usage:   "Usage: licentric import [flags]\n",
		raw: func(c *cli, ctx context.Context, args []string) int {
			return runImport(ctx, args, c.stdout, c.stderr, c.getenv)
		},
	}
}
