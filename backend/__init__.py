"""Junjo AI Studio backend: HTTP API, accounts, API keys and span queries over one data directory."""

APP_NAME = "Junjo AI Studio"
__version__ = "0.1.0"
