"""`shouhu report …`: periodic reports to a file, and reclassification, from the command line.

    shouhu report quarterly --division 500248000000 --period 2026-Q3 --out q3.xlsx
    shouhu report annual --division 500248000000 --period 2026 --out 2026.csv
    shouhu report classify [--division 500248000000]

The file format follows the extension (.xlsx or .csv). Problems end in one line, exit 2.
"""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console

from kernel import clock
from kernel.messages import MESSAGES, number, say
from shouhu.cli.stores import fail

report_app = typer.Typer(no_args_is_help=True, help="Periodic reports (村 → 乡镇 → 县) and classification.")
console = Console()


def _fail(message: str) -> None:
    fail(message)


def _write(kind: str, division: str, period: str, out: Path) -> None:
    from kernel.settings import get_settings
    from protection import reporting
    from shouhu.cli.stores import ConfigError, _open_stores

    fmt = out.suffix.lower().lstrip(".")
    if fmt not in ("xlsx", "csv"):
        _fail(say("report.bad_out", name=repr(out.name)))
    try:
        graph, engine = _open_stores(get_settings())
    except ConfigError as exc:
        _fail(str(exc))
    try:
        v = reporting.view(engine, division, period)
        if v.period.kind != kind:
            _fail(
                say(
                    "report.wrong_kind",
                    period=repr(period),
                    actual=say(f"report.kind.{v.period.kind}"),
                    expected=say(f"report.kind.{kind}"),
                )
            )
        codes = [code for code, _ in v.rows]
        nodes = graph.get_nodes([f"division:{c}" for c in [division, *codes]])
        names = {n.props["code"]: n.props.get("name") or "" for n in nodes.values() if n.props.get("code")}
        data = reporting.to_xlsx(v, names) if fmt == "xlsx" else reporting.to_csv(v, names)
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_bytes(data)
    except reporting.ReportError as exc:
        _fail(str(exc))
    finally:
        graph.close()
        engine.dispose()
    status_key = f"report.status.{v.status}"
    console.print(
        say(
            "report.written",
            kind=say(f"report.kind.{kind}"),
            division=names.get(division) or division,
            period=v.period.label,
            children=number(v.totals.get("children", 0)),
            left_behind=number(v.totals.get("left_behind", 0)),
            in_distress=number(v.totals.get("in_distress", 0)),
            status=say(status_key) if status_key in MESSAGES else v.status,
            deadline=v.deadline,
            path=out,
        ),
        highlight=False,
    )


def _this_quarter() -> str:
    today = clock.today()
    return f"{today.year}-Q{(today.month - 1) // 3 + 1}"


@report_app.command()
def quarterly(
    division: str = typer.Option(..., help="12-digit code of a village, township or county."),
    period: str = typer.Option(None, help="YYYY-Qn (default: the current quarter)."),
    out: Path = typer.Option(..., help="Output file, .xlsx or .csv."),  # noqa: B008
) -> None:
    """A quarterly report (季度报告) of a division: roll-up by sub-division and category."""
    _write("quarterly", division, period or _this_quarter(), out)


@report_app.command()
def annual(
    division: str = typer.Option(..., help="12-digit code of a village, township or county."),
    period: str = typer.Option(None, help="YYYY (default: this year)."),
    out: Path = typer.Option(..., help="Output file, .xlsx or .csv."),  # noqa: B008
) -> None:
    """An annual report (年度报告); the county's is due by 10 December."""
    _write("annual", division, period or str(clock.today().year), out)


@report_app.command()
def classify(
    division: str = typer.Option(None, help="Only this division (default: every county in the graph)."),
) -> None:
    """Reclassify and rescreen children from the graph now, and take a statistics snapshot."""
    from kernel.settings import get_settings
    from protection.classification import recompute
    from shouhu.cli.stores import ConfigError, _open_stores

    try:
        graph, engine = _open_stores(get_settings())
    except ConfigError as exc:
        _fail(str(exc))
    try:
        r = recompute(graph, engine, division=division, trigger="cli")
    finally:
        graph.close()
        engine.dispose()
    console.print(
        say(
            "report.classified",
            children=number(r.children),
            seconds=f"{r.seconds:.1f}",
            rate=f"{r.per_second:,.0f}",
            removed=number(r.removed),
        ),
        highlight=False,
    )
