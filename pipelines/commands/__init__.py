"""What each `callhouse` command does, callable from the CLI and the demo alike (exit codes returned)."""
