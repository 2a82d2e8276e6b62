"""Shared core of the cold-chain system: the probe contract, settings and the CLI."""

__version__ = "0.1.0"
