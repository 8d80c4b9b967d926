//go:build licentric_noimport

package main

// importCommand is absent in a build without import.go (tag
// licentric_noimport): the CLI then has no import command.
func importCommand() *command { return nil }
