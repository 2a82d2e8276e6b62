"""Subcommands of the `coldchain` console command that belong to the shared core."""
