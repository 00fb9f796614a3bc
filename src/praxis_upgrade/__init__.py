"""praxis-upgrade: safely upgrade an installed prAxIs OS from a praxis-os source clone."""
from __future__ import annotations

import pluggy

__version__ = "0.1.0"

hookimpl = pluggy.HookimplMarker("praxis_upgrade")
"""Marker for plugin hook implementations: ``@praxis_upgrade.hookimpl``."""

__all__ = ["__version__", "hookimpl"]
