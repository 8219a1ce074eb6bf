"""Engines turn a prompt into candidate middles; all of them sit behind the :class:`Engine` protocol."""
