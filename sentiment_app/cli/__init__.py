"""The `sentiment` command and its subcommands."""
