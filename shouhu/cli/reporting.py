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
from rich.markup import escape

from kernel import clock

report_app = typer.Typer(no_args_is_help=True, help="Periodic reports (村 → 乡镇 → 县) and classification.")
console = Console()


def _fail(message: str) -> None:
    Console(stderr=True, soft_wrap=True).print(f"[bold red]error:[/] {escape(message)}", highlight=False)
    raise typer.Exit(2)


def _write(kind: str, division: str, period: str, out: Path) -> None:
    import base64

    from shouhu.cli.stores import run_operation

    fmt = out.suffix.lower().lstrip(".")
    if fmt not in ("xlsx", "csv"):
        _fail(f"--out must end in .xlsx or .csv, not {out.name!r}")
    # Computed where the stores are (a running service, or here); written here, by the operator.
    r = run_operation("periodic_report", kind=kind, division=division, period=period, fmt=fmt)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_bytes(base64.b64decode(r["data"]))
    console.print(
        f"{kind} report {division} {period}: {r['children']} children, "
        f"{r['left_behind']} left-behind, {r['in_distress']} in distress; "
        f"status {r['status']}, deadline {r['deadline']} → {out}"
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
    from shouhu.cli.stores import run_operation

    r = run_operation("classify", division=division)
    console.print(
        f"{r['children']} children classified in {r['seconds']:.1f} s ({r['per_second']:.0f}/s), "
        f"{r['removed']} removed"
    )
