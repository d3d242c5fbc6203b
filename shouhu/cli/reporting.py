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

report_app = typer.Typer(no_args_is_help=True, help=say("cli.help.report"))
console = Console()


def _fail(message: str) -> None:
    fail(message)


def _write(kind: str, division: str, period: str, out: Path) -> None:
    import base64

    from shouhu.cli.stores import run_operation

    fmt = out.suffix.lower().lstrip(".")
    if fmt not in ("xlsx", "csv"):
        _fail(say("report.bad_out", name=repr(out.name)))
    # Computed where the stores are (a running service, or here); written here, by the operator.
    r = run_operation("periodic_report", kind=kind, division=division, period=period, fmt=fmt)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_bytes(base64.b64decode(r["data"]))
    status_key = f"report.status.{r['status']}"
    console.print(
        say(
            "report.written",
            kind=say(f"report.kind.{kind}"),
            division=r.get("division_name") or division,
            period=r.get("period") or period,
            children=number(r["children"]),
            left_behind=number(r["left_behind"]),
            in_distress=number(r["in_distress"]),
            status=say(status_key) if status_key in MESSAGES else r["status"],
            deadline=r["deadline"],
            path=out,
        ),
        highlight=False,
    )


def _this_quarter() -> str:
    today = clock.today()
    return f"{today.year}-Q{(today.month - 1) // 3 + 1}"


@report_app.command(help=say("cli.help.report.quarterly"))
def quarterly(
    division: str = typer.Option(..., help=say("cli.help.report.quarterly.division")),
    period: str = typer.Option(None, help=say("cli.help.report.quarterly.period")),
    out: Path = typer.Option(..., help=say("cli.help.report.quarterly.out")),  # noqa: B008
) -> None:
    """A quarterly report (季度报告) of a division: roll-up by sub-division and category."""
    _write("quarterly", division, period or _this_quarter(), out)


@report_app.command(help=say("cli.help.report.annual"))
def annual(
    division: str = typer.Option(..., help=say("cli.help.report.annual.division")),
    period: str = typer.Option(None, help=say("cli.help.report.annual.period")),
    out: Path = typer.Option(..., help=say("cli.help.report.annual.out")),  # noqa: B008
) -> None:
    """An annual report (年度报告); the county's is due by 10 December."""
    _write("annual", division, period or str(clock.today().year), out)


@report_app.command(help=say("cli.help.report.classify"))
def classify(
    division: str = typer.Option(None, help=say("cli.help.report.classify.division")),
) -> None:
    """Reclassify and rescreen children from the graph now, and take a statistics snapshot."""
    from shouhu.cli.connectors import progress_bars
    from shouhu.cli.stores import run_operation

    with progress_bars() as bars:
        r = run_operation("classify", bars, division=division)
    console.print(
        say(
            "report.classified",
            children=number(r["children"]),
            seconds=f"{r['seconds']:.1f}",
            rate=f"{r['per_second']:,.0f}",
            removed=number(r["removed"]),
        ),
        highlight=False,
    )
