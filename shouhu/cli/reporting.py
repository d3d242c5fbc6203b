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
    from kernel.settings import get_settings
    from protection import reporting
    from shouhu.cli.stores import ConfigError, _open_stores

    fmt = out.suffix.lower().lstrip(".")
    if fmt not in ("xlsx", "csv"):
        _fail(f"--out must end in .xlsx or .csv, not {out.name!r}")
    try:
        graph, engine = _open_stores(get_settings())
    except ConfigError as exc:
        _fail(str(exc))
    try:
        v = reporting.view(engine, division, period)
        if v.period.kind != kind:
            _fail(f"period {period!r} is {v.period.kind}, not {kind}")
        codes = [code for code, _ in v.rows]
        nodes = graph.get_nodes([f"division:{c}" for c in codes])
        names = {n.props["code"]: n.props.get("name") or "" for n in nodes.values() if n.props.get("code")}
        data = reporting.to_xlsx(v, names) if fmt == "xlsx" else reporting.to_csv(v, names)
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_bytes(data)
    except reporting.ReportError as exc:
        _fail(str(exc))
    finally:
        graph.close()
        engine.dispose()
    console.print(
        f"{kind} report {division} {period}: {v.totals.get('children', 0)} children, "
        f"{v.totals.get('left_behind', 0)} left-behind, {v.totals.get('in_distress', 0)} in distress; "
        f"status {v.status}, deadline {v.deadline} → {out}"
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
    from shouhu.cli.connectors import _progress

    try:
        with _progress() as bars:
            task = bars.add_task("分类 classifying (people)", total=None)
            r = recompute(
                graph, engine, division=division, trigger="cli", progress=lambda n: bars.advance(task, n)
            )
    finally:
        graph.close()
        engine.dispose()
    console.print(
        f"{r.children} children classified in {r.seconds:.1f} s ({r.per_second:.0f}/s), {r.removed} removed"
    )
