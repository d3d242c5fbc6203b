"""``shouhu sync``, ``shouhu quarantine list|show|replay``, ``shouhu runs``, ``shouhu crosscheck``.

Mounted on the main command by ``shouhu/cli.py`` (this Typer app is added without a
name, so its commands sit at the top level). Configuration problems end in one line and
exit code 2; a run that failed or could not account for every record exits 1.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from sqlalchemy import Engine, and_, func, select

from connectors.tables import LandingRecord, SyncRun
from graph.port import GraphStoreError

app = typer.Typer(add_completion=False)
quarantine_app = typer.Typer(no_args_is_help=True, help="Records that failed validation, and their replay.")
app.add_typer(quarantine_app, name="quarantine")
# Wide enough for the report table when output is a file or a pipe (rich assumes 80 columns there).
console = Console(width=None if Console().is_terminal else 140)
err = Console(stderr=True)
L = LandingRecord.__table__  # type: ignore[attr-defined]
R = SyncRun.__table__  # type: ignore[attr-defined]


# ---- shared plumbing ------------------------------------------------------------------------------


def _fail(message: str) -> None:
    Console(stderr=True, soft_wrap=True).print(f"[bold red]error:[/] {escape(message)}", highlight=False)
    raise typer.Exit(2)


def _stopped(exc: Exception) -> None:
    """The graph store failed mid-run: one line, exit 1. What was committed stays; rerun resumes."""
    Console(stderr=True, soft_wrap=True).print(
        f"[bold red]sync stopped:[/] {escape(str(exc))} — committed batches are kept; run it again to resume",
        highlight=False,
    )
    raise typer.Exit(1)


@contextlib.contextmanager
def _stores(need_graph: bool = True) -> Iterator[tuple[Any, Engine, Any]]:
    """(settings, engine, graph) opened and migrated like every other ``shouhu`` command."""
    from kernel.settings import get_settings
    from shouhu.cli.stores import ConfigError, _open_stores

    settings = get_settings()
    try:
        graph, engine = _open_stores(settings)
    except ConfigError as exc:
        _fail(str(exc))
    try:
        yield settings, engine, graph
    finally:
        graph.close()
        engine.dispose()


@contextlib.contextmanager
def _sync_lock(data_dir: Path) -> Iterator[None]:
    """One sync or replay at a time per data directory (the graph takes one writer)."""
    data_dir.mkdir(parents=True, exist_ok=True)
    with open(data_dir / "sync.lock", "w") as fh:
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            _fail(f"another sync or replay is running on {data_dir} (sync.lock is held)")
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


class _RichProgress:
    """The pipeline's progress hooks drawn as rich bars on stderr (nothing when not a terminal)."""

    def __init__(self, progress: Progress) -> None:
        self.progress = progress
        self.task: Any = None

    def phase(self, source: str, what: str, total: int | None) -> None:
        verb = "landing" if what == "land" else "processing"
        label = f"{source:<16} {verb}"
        self.task = self.progress.add_task(label, total=total)

    def advance(self, n: int) -> None:
        if self.task is not None:
            self.progress.advance(self.task, n)


def _progress() -> Progress:
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=err,
        disable=not err.is_terminal,
    )


def _pipeline(
    settings: Any, engine: Engine, graph: Any, export_dir: Path | None, progress: Any = None
) -> Any:
    from connectors.pipeline import Pipeline
    from connectors.sources import ConfigError, load_config

    try:
        config = load_config(settings.data_dir, export_dir)
    except ConfigError as exc:
        _fail(str(exc))
    return Pipeline(engine, graph, config, progress=progress)


def print_report(report: Any) -> None:
    """The run report as an operator reads it: per source, the accounting line, the reasons."""
    t = report.total()
    title = (
        f"{report.kind} {report.run_id[:8]} — {t.received + t.resumed:,} records in "
        f"{report.seconds:,.1f} s ({report.records_per_second:,.0f} records/s)"
    )
    table = Table(title=title, title_justify="left")
    for col in (
        "source",
        "received",
        "new",
        "unchanged",
        "resumed",
        "loaded",
        "quarantined",
        "warnings",
        "status",
    ):
        table.add_column(col, justify="left" if col in ("source", "status") else "right")
    for s in [*report.sources, t]:
        table.add_row(
            s.source,
            f"{s.received:,}",
            f"{s.landed:,}",
            f"{s.unchanged + s.duplicates:,}",
            f"{s.resumed:,}",
            f"{s.loaded:,}",
            f"{s.quarantined:,}",
            f"{s.warnings:,}",
            s.status if s.status == "completed" else f"[red]{s.status}[/]",
        )
    console.print(table)
    mark = "[green]✓[/]" if t.unexplained == 0 else "[bold red]✗[/]"
    console.print(
        f"accounting: received {t.received:,} + resumed {t.resumed:,} = loaded {t.loaded:,} + quarantined "
        f"{t.quarantined:,} + unchanged {t.unchanged:,} + duplicates {t.duplicates:,}; unexplained "
        f"{t.unexplained:,} {mark}",
        highlight=False,
    )
    if t.by_reason:
        reasons = ", ".join(f"{k} {v:,}" for k, v in t.by_reason.most_common())
        console.print(f"quarantined by reason: {reasons}", highlight=False)
    if t.warnings_by_code:
        warns = ", ".join(f"{k} {v:,}" for k, v in t.warnings_by_code.most_common())
        console.print(f"loaded with warnings: {warns}", highlight=False)
    g = t.graph
    console.print(
        f"graph: {g['created']:,} created, {g['updated']:,} updated, {g['unchanged']:,} unchanged; "
        f"resolver: {report.resolver}",
        highlight=False,
    )
    print_files(report)
    for s in report.sources:
        if s.error:
            console.print(f"[red]{s.source}: {escape(s.error)}[/]")


_FILE_STATUS = {"ignored": "已忽略", "failed": "无法读取，已隔离", "empty": "空文件"}


def print_files(report: Any) -> None:
    """Files the operator must hear about: ignored (and why), empty, unreadable, and warnings
    about the files that were read (renamed or missing columns, sheets passed over, encodings)."""
    for s in report.sources:
        for f in s.files:
            status = f.get("status")
            name = escape(f.get("file", ""))
            if status in _FILE_STATUS:
                why = f"：{escape(f['reason'])}" if f.get("reason") else ""
                colour = "red" if status == "failed" else "yellow"
                console.print(f"[{colour}]{s.source}: {name} {_FILE_STATUS[status]}{why}[/]", highlight=False)
            for note in f.get("notes") or []:
                console.print(f"[yellow]{s.source}: {name}：{escape(note)}[/]", highlight=False)


# ---- sync -----------------------------------------------------------------------------------------


@app.command()
def sync(
    sources: list[str] = typer.Argument(None, help="Sources to sync (default: every configured one)."),  # noqa: B008
    from_dir: Path = typer.Option(  # noqa: B008
        None, "--from", help="A county export: DIR with reference, police, education, health, survey."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print the run report as JSON."),
    watch: bool = typer.Option(False, "--watch", help="Keep running: sync each source on its `every`."),
    max_cycles: int = typer.Option(0, "--max-cycles", help="With --watch: stop after N cycles (0 = never)."),
    batch_size: int = typer.Option(20_000, "--batch-size", min=1, help="Records per graph upsert batch."),
) -> None:
    """Land, validate, resolve and load source records into the graph, then report."""
    if from_dir is not None and not from_dir.is_dir():
        what = "不是目录" if from_dir.exists() else "不存在"
        _fail(f"导出目录{what}：{from_dir}（--from 需要一个县的导出目录，内含 police、education 等子目录）")
    with _stores() as (settings, engine, graph), _sync_lock(settings.data_dir):
        if watch:
            _watch(settings, engine, graph, from_dir, sources or None, max_cycles)
            return
        with _progress() as bars:
            pipeline = _pipeline(settings, engine, graph, from_dir, _RichProgress(bars))
            pipeline.batch_size = batch_size
            try:
                report = pipeline.sync(sources or None)
            except ValueError as exc:
                _fail(str(exc))
            except GraphStoreError as exc:
                _stopped(exc)
            _drain(graph, engine, bars)
        _emit(report, as_json)


def _drain(graph: Any, engine: Engine, bars: Progress | None = None) -> None:
    """Derived state after the run: reclassify the people the durable queue names (this run's, and
    any an interrupted run left), through protection (the composition root may call upward)."""
    from protection.classification import drain, queued

    waiting = queued(engine)
    if not waiting:
        return
    task = bars.add_task("重新分类 reclassifying (people)", total=None) if bars is not None else None

    done = [0]

    def advance(n: int) -> None:
        done[0] += n
        if bars is not None and task is not None:
            bars.advance(task, n)

    result = drain(graph, engine, progress=advance)
    if bars is not None and task is not None:
        bars.update(task, total=max(done[0], 1), completed=max(done[0], 1))
    if result is not None and err.is_terminal:
        err.print(f"已重新分类 {result.children:,} 名儿童（{result.seconds:,.1f} 秒）", highlight=False)


def _emit(report: Any, as_json: bool) -> None:
    if as_json:
        typer.echo(json.dumps(report.as_json(), ensure_ascii=False))
    else:
        print_report(report)
    if not report.ok:
        raise typer.Exit(1)


def due_sources(engine: Engine, config: Any, now: Any, only: list[str] | None = None) -> list[str]:
    """Configured sources whose last completed sync is older than their ``every`` (or never ran)."""
    out = []
    with engine.connect() as conn:
        last: dict[str, Any] = dict(
            conn.execute(
                select(R.c.source, func.max(R.c.started_at))
                .where(and_(R.c.kind == "sync", R.c.status == "completed"))
                .group_by(R.c.source)
            ).all()
        )
    for name, sc in config.sources.items():
        if not sc.configured or (only and name not in only):
            continue
        prev = last.get(name)
        if prev is not None and prev.tzinfo is None:
            from datetime import UTC

            prev = prev.replace(tzinfo=UTC)
        if prev is None or now - prev >= sc.every:
            out.append(name)
    return out


def _watch(
    settings: Any, engine: Engine, graph: Any, from_dir: Path | None, only: list[str] | None, max_cycles: int
) -> None:
    from kernel.db.tables import utcnow

    pipeline = _pipeline(settings, engine, graph, from_dir)
    cycles = 0
    console.print(
        "watching: "
        + ", ".join(
            f"{n} every {s.every}"
            for n, s in pipeline.config.sources.items()
            if s.configured and (not only or n in only)
        )
    )
    while True:
        due = due_sources(engine, pipeline.config, utcnow(), only)
        if due:
            report = pipeline.sync(due)
            _drain(graph, engine)
            print_report(report)
        cycles += 1
        if max_cycles and cycles >= max_cycles:
            return
        intervals = [s.every for s in pipeline.config.sources.values() if s.configured]
        time.sleep(min(min(intervals, default=timedelta(minutes=1)).total_seconds(), 60.0))


# ---- quarantine -----------------------------------------------------------------------------------


@quarantine_app.command("list")
def quarantine_list(
    source: str = typer.Option(None, help="Only this source."),
    reason: str = typer.Option(None, help="Only this reason code (a prefix ending in '.' matches a family)."),
    limit: int = typer.Option(50, help="At most this many rows (0 = all)."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON lines."),
) -> None:
    """Quarantined records with their reasons, oldest first, and the count by reason."""
    with _stores(need_graph=False) as (_settings, engine, _graph):
        conds = [L.c.status == "quarantined"]
        if source:
            conds.append(L.c.source == source)
        if reason:
            conds.append(
                L.c.reason_code.like(f"{reason}%") if reason.endswith(".") else L.c.reason_code == reason
            )
        with engine.connect() as conn:
            counts = conn.execute(
                select(L.c.source, L.c.reason_code, func.count())
                .where(and_(*conds))
                .group_by(L.c.source, L.c.reason_code)
                .order_by(L.c.source, L.c.reason_code)
            ).all()
            stmt = (
                select(
                    L.c.seq,
                    L.c.source,
                    L.c.record_id,
                    L.c.reason_code,
                    L.c.reason,
                    L.c.origin,
                    L.c.received_at,
                )
                .where(and_(*conds))
                .order_by(L.c.seq)
            )
            rows = conn.execute(stmt.limit(limit) if limit else stmt).all()
    if as_json:
        for r in rows:
            typer.echo(
                json.dumps(
                    {
                        "seq": r.seq,
                        "source": r.source,
                        "record_id": r.record_id,
                        "reason_code": r.reason_code,
                        "reason": r.reason,
                        "origin": r.origin,
                        "received_at": r.received_at.isoformat(),
                    },
                    ensure_ascii=False,
                )
            )
        return
    total = sum(n for *_, n in counts)
    table = Table(title=f"quarantine: {total:,} records", title_justify="left")
    for col in ("seq", "source", "record", "reason", "message", "from"):
        table.add_column(col, overflow="fold")
    for r in rows:
        table.add_row(str(r.seq), r.source, r.record_id, r.reason_code or "", r.reason or "", r.origin)
    console.print(table)
    for src, code, n in counts:
        console.print(f"  {src:<16} {code:<28} {n:,}", highlight=False)


@quarantine_app.command("show")
def quarantine_show(
    seq: int = typer.Argument(..., help="The landing sequence number (from `list`)."),
) -> None:
    """One landed record: its reason and the raw payload as received."""
    with _stores(need_graph=False) as (_settings, engine, _graph), engine.connect() as conn:
        r = conn.execute(select(L).where(L.c.seq == seq)).first()
    if r is None:
        _fail(f"no landed record {seq}")
        return
    console.print(
        f"{r.source} {r.record_id} [{r.status}] {r.reason_code or ''} {r.reason or ''}", highlight=False
    )
    console.print(f"from {r.origin}, received {r.received_at.isoformat()}", highlight=False)
    typer.echo(json.dumps(json.loads(r.payload), ensure_ascii=False, indent=2))


@quarantine_app.command("replay")
def quarantine_replay(
    source: str = typer.Option(None, help="Only this source."),
    reason: str = typer.Option(None, help="Only this reason code (a prefix ending in '.' matches a family)."),
    record_id: list[str] = typer.Option(None, "--record-id", help="Only these record ids."),  # noqa: B008
    as_json: bool = typer.Option(False, "--json", help="Print the run report as JSON."),
) -> None:
    """Re-validate quarantined records from their stored payload; load what passes now."""
    with _stores() as (settings, engine, graph), _sync_lock(settings.data_dir):
        with _progress() as bars:
            pipeline = _pipeline(settings, engine, graph, None, _RichProgress(bars))
            try:
                report = pipeline.replay(source, reason, record_id or None)
            except GraphStoreError as exc:
                _stopped(exc)
            _drain(graph, engine, bars)
        _emit(report, as_json)


# ---- cross-check ----------------------------------------------------------------------------------


@app.command("crosscheck")
def crosscheck_cmd(
    as_of: str = typer.Option(None, "--as-of", help="The day ages are taken on (YYYY-MM-DD; default today)."),
    division: str = typer.Option("", "--division", help="Only this division code prefix (e.g. 500248101)."),
    examples: int = typer.Option(10, help="Example person ids per finding."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Where the sources disagree: missing children, school-age children not enrolled, conflicts."""
    from datetime import date

    from connectors.crosscheck import crosscheck

    try:
        day = date.fromisoformat(as_of) if as_of else None
    except ValueError:
        _fail(f"--as-of {as_of!r} is not a date (YYYY-MM-DD)")
        return
    if division and (not division.isdigit() or len(division) > 12):
        _fail(f"--division {division!r} is not a division code prefix")
    with _stores() as (_settings, _engine, graph), _progress() as bars:
        task = bars.add_task("交叉核对 cross-check (people)", total=None)
        report = crosscheck(
            graph, as_of=day, division_prefix=division, progress=lambda n: bars.advance(task, n)
        )
    report.examples = examples
    doc = report.as_json()
    if as_json:
        typer.echo(json.dumps(doc, ensure_ascii=False))
        return
    console.print(f"cross-check as of {doc['as_of']}: {doc['children']:,} children under 18", highlight=False)
    table = Table(title_justify="left")
    table.add_column("finding")
    table.add_column("children", justify="right")
    table.add_column("examples", overflow="fold")
    for name, item in doc["missing"].items():
        table.add_row(name.replace("_", " "), f"{item['count']:,}", ", ".join(item["examples"][:3]))
    for key in ("school_age_not_enrolled", "survey_parents_away_but_register_mother_home"):
        item = doc[key]
        table.add_row(key.replace("_", " "), f"{item['count']:,}", ", ".join(item["examples"][:3]))
    console.print(table)
    if doc["conflicting_attributes"]:
        conflicts = ", ".join(f"{k} {v:,}" for k, v in doc["conflicting_attributes"].items())
        console.print(f"attributes the sources disagree on (children): {conflicts}", highlight=False)
    console.print(
        "children by the sources that know them: "
        + ", ".join(f"{k} {v:,}" for k, v in list(doc["children_by_sources"].items())[:8]),
        highlight=False,
    )


# ---- runs -----------------------------------------------------------------------------------------


@app.command("runs")
def runs(
    limit: int = typer.Option(20, help="Most recent runs."),
    as_json: bool = typer.Option(False, "--json", help="Print the stored reports as JSON lines."),
) -> None:
    """Stored run reports, newest first: one row per run and source."""
    with _stores(need_graph=False) as (_settings, engine, _graph), engine.connect() as conn:
        rows = conn.execute(select(R).order_by(R.c.started_at.desc(), R.c.source).limit(limit)).all()
    if as_json:
        for r in rows:
            typer.echo(json.dumps(r.report, ensure_ascii=False))
        return
    table = Table(title="sync runs", title_justify="left")
    for col in (
        "run",
        "source",
        "kind",
        "status",
        "started",
        "received",
        "loaded",
        "quarantined",
        "unexplained",
    ):
        table.add_column(col)
    for r in rows:
        unexplained = (r.received + r.resumed) - (r.loaded + r.quarantined + r.unchanged + r.duplicates)
        table.add_row(
            r.run_id[:8],
            r.source,
            r.kind,
            r.status,
            r.started_at.isoformat(timespec="seconds"),
            f"{r.received:,}",
            f"{r.loaded:,}",
            f"{r.quarantined:,}",
            str(unexplained) if r.status == "completed" else "-",
        )
    console.print(table)
