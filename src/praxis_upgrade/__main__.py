"""`python -m praxis_upgrade` runs the CLI."""

from __future__ import annotations

from praxis_upgrade.cli import main

if __name__ == "__main__":
    raise SystemExit(main())
