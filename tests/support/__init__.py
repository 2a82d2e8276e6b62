"""Helpers shared by several test folders (one copy each; tests/harness/ has the servers)."""
