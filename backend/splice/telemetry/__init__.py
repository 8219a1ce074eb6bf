"""Adoption telemetry: what was suggested, shown, accepted and kept, stored locally and reported to people.

The server side (``recorder``, ``retention``, ``writer``) runs beside the completion path and never on it:
events go through a bounded queue to a writer thread that owns the SQLite ``store``. ``metrics``,
``report`` and ``replay`` read that store for ``splice report`` and ``splice replay``; they are never
imported by the server.
"""
