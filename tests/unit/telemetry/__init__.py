"""Telemetry: events, store, retention, metrics and reports, driven through the real server."""
