"""Splice: a code-completion backend that speaks LSP over stdio and serves fill-in-the-middle suggestions."""

__version__ = "0.1.0"
