"""Default reports: a Markdown summary, the validation JSON and one UPDATE_LOG.txt entry."""
from __future__ import annotations

import datetime as dt

from praxis_upgrade import hookimpl
from praxis_upgrade.context import Context


@hookimpl(trylast=True)
def praxis_report(ctx: Context) -> list[str]:
    from praxis_upgrade import reports

    return [str(p) for p in reports.write_reports(ctx.target, ctx.session, stamp=_stamp())]


def _stamp() -> str:
    return dt.datetime.now().strftime("%Y-%m-%d-%H%M%S")


