"""Bytes to messages and back: LSP base-protocol framing, JSON-RPC envelopes and error codes."""
