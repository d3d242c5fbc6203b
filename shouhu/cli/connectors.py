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
from datetime import datetime, timedelta
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
from kernel.clock import beijing
from kernel.messages import MESSAGES, attribute_name, number, reason_name, say, source_name
from shouhu.cli.stores import fail
from shouhu.service.operations import Phases

app = typer.Typer(add_completion=False)
quarantine_app = typer.Typer(no_args_is_help=True, help=say("cli.help.quarantine"))
app.add_typer(quarantine_app, name="quarantine")
# Wide enough for the report table when output is a file or a pipe (rich assumes 80 columns there).
console = Console(width=None if Console().is_terminal else 140)
err = Console(stderr=True)
L = LandingRecord.__table__  # type: ignore[attr-defined]
R = SyncRun.__table__  # type: ignore[attr-defined]


# ---- shared plumbing ------------------------------------------------------------------------------


def _fail(message: str) -> None:
    fail(message)


def _stopped(exc: Exception) -> None:
    """The graph store failed mid-run: one line, exit 1. What was committed stays; rerun resumes."""
    Console(stderr=True, soft_wrap=True).print(
        f"[bold red]{escape(say('cli.sync_stopped', reason=_reason(exc)))}[/]",
        highlight=False,
    )
    raise typer.Exit(1)


def _reason(exc: Exception) -> str:
    """Why a sync stopped, in one line: a full disk said so in Chinese (the graph engine's text is
    an English I/O error naming a file offset), anything else as the store said it."""
    if "No space left on device" in str(exc):
        return say("store.disk_full")
    return str(exc)


@contextlib.contextmanager
def _stores(need_graph: bool = True, *, sync: bool = False) -> Iterator[tuple[Any, Engine, Any]]:
    """(settings, engine, graph) opened and migrated like every other ``shouhu`` command; without
    ``need_graph`` the graph is None and its file is not opened (a running service may hold it).
    For a ``sync``, the graph's buffer pool is ``Settings.for_sync``'s."""
    from kernel.settings import get_settings
    from shouhu.cli.stores import ConfigError, _open_sql, _open_stores

    settings = get_settings().for_sync() if sync else get_settings()
    try:
        graph, engine = _open_stores(settings) if need_graph else (None, _open_sql(settings))
    except ConfigError as exc:
        _fail(str(exc))
    try:
        yield settings, engine, graph
    finally:
        if graph is not None:
            graph.close()
        engine.dispose()


@contextlib.contextmanager
def sync_lock(data_dir: Path) -> Iterator[None]:
    """One sync or replay at a time per data directory (the graph takes one writer)."""
    try:
        data_dir.mkdir(parents=True, exist_ok=True)
        fh = open(data_dir / "sync.lock", "a")  # noqa: SIM115 (closed below)
    except OSError as exc:  # a read-only or full data directory: one line, as the stores say it
        _fail(say("store.data_dir_write_failed", path=data_dir, reason=exc.strerror))
        raise
    with fh:
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            _fail(say("cli.sync_locked", data_dir=data_dir))
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
        verb = say("sync.phase.land" if what == "land" else "sync.phase.process")
        label = f"{source_name(source)} {verb}"
        self.task = self.progress.add_task(label, total=total)

    def advance(self, n: int) -> None:
        if self.task is not None:
            self.progress.advance(self.task, n)


def progress_bars() -> Progress:
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=err,
        disable=not err.is_terminal,
    )


def _pipeline(
    settings: Any, engine: Engine, graph: Any, export_dir: Path | None, bars: Progress | None = None
) -> Any:
    from connectors.pipeline import Pipeline
    from connectors.sources import ConfigError, load_config
    from shouhu.service.operations import first_load_builder

    try:
        config = load_config(settings.data_dir, export_dir)
    except ConfigError as exc:
        _fail(str(exc))
    return Pipeline(
        engine,
        graph,
        config,
        graph_tx_records=settings.sync_graph_tx_records,
        progress=_RichProgress(bars) if bars is not None else None,
        first_load_records=settings.sync_first_load_records,
        graph_builder=first_load_builder(
            settings, graph, engine, _BarPhases(bars) if bars is not None else None
        ),
    )


class _BarPhases(Phases):
    """An operation's phases (a first load's graph build) drawn as rich bars as they start and grow."""

    def __init__(self, bars: Progress) -> None:
        super().__init__()
        self.bars = bars
        self.task: Any = None

    def start(self, label: str, total: int | None = None) -> None:
        super().start(label, total)
        self.task = self.bars.add_task(label, total=total)

    def __call__(self, n: int) -> None:
        super().__call__(n)
        if self.task is not None:
            self.bars.advance(self.task, n)


def print_report(report: Any) -> None:
    """The run report as an operator reads it: per source, the accounting line, the reasons."""
    t = report.total()
    title = say(
        "sync.title",
        kind=say(f"kind.{report.kind}"),
        run=report.run_id[:8],
        records=number(t.received + t.resumed),
        seconds=f"{report.seconds:,.1f}",
        rate=f"{report.records_per_second:,.0f}",
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
        table.add_column(say(f"sync.col.{col}"), justify="left" if col in ("source", "status") else "right")
    for s in [*report.sources, t]:
        status = say(f"status.{s.status}") if f"status.{s.status}" in MESSAGES else s.status
        table.add_row(
            say("sync.total") if s is t else source_name(s.source),
            f"{s.received:,}",
            f"{s.landed:,}",
            f"{s.unchanged + s.duplicates:,}",
            f"{s.resumed:,}",
            f"{s.loaded:,}",
            f"{s.quarantined:,}",
            f"{s.warnings:,}",
            status if s.status == "completed" else f"[red]{status}[/]",
        )
    console.print(table)
    mark = "[green]✓[/]" if t.unexplained == 0 else "[bold red]✗[/]"
    console.print(
        say(
            "sync.accounting",
            received=number(t.received),
            resumed=number(t.resumed),
            loaded=number(t.loaded),
            quarantined=number(t.quarantined),
            unchanged=number(t.unchanged),
            duplicates=number(t.duplicates),
            unexplained=number(t.unexplained),
            mark=mark,
        ),
        highlight=False,
    )
    if t.by_reason:
        reasons = "，".join(f"{reason_name(k)} {v:,}" for k, v in t.by_reason.most_common())
        console.print(say("sync.by_reason", reasons=reasons), highlight=False)
    if t.warnings_by_code:
        warns = "，".join(f"{reason_name(k)} {v:,}" for k, v in t.warnings_by_code.most_common())
        console.print(say("sync.by_warning", warnings=warns), highlight=False)
    g, built = t.graph, report.graph_build
    if built:
        line = say(
            "sync.graph_built",
            nodes=number(built["nodes"]),
            relationships=number(built["relationships"]),
            seconds=f"{built['seconds']:,.1f}",
            resolver=report.resolver,
        )
    else:
        line = say(
            "sync.graph",
            created=number(g["created"]),
            updated=number(g["updated"]),
            unchanged=number(g["unchanged"]),
            resolver=report.resolver,
        )
    console.print(line, highlight=False)
    print_files(report)
    for s in report.sources:
        if s.error:
            console.print(f"[red]{escape(source_name(s.source))}：{escape(s.error)}[/]")


_FILE_STATUS = ("ignored", "failed", "stopped", "empty")


def print_files(report: Any) -> None:
    """Files the operator must hear about: ignored (and why), empty, unreadable, and warnings
    about the files that were read (renamed or missing columns, sheets passed over, encodings)."""
    for s in report.sources:
        for f in s.files:
            status = f.get("status")
            name = escape(f.get("file", ""))
            if status in _FILE_STATUS:
                why = f"：{escape(f['reason'])}" if f.get("reason") else ""
                colour = "red" if status in ("failed", "stopped") else "yellow"
                word = say(f"sync.file.{status}")
                console.print(f"[{colour}]{source_name(s.source)}：{name} {word}{why}[/]", highlight=False)
            for note in f.get("notes") or []:
                console.print(f"[yellow]{source_name(s.source)}：{name}：{escape(note)}[/]", highlight=False)


# ---- sync -----------------------------------------------------------------------------------------


@app.command(help=say("cli.help.sync"))
def sync(
    sources: list[str] = typer.Argument(None, help=say("cli.help.sync.sources")),  # noqa: B008
    from_dir: Path = typer.Option(  # noqa: B008
        None,
        "--from",
        help=say("cli.help.sync.from_dir"),  # noqa: B008
    ),
    as_json: bool = typer.Option(False, "--json", help=say("cli.help.sync.as_json")),
    watch: bool = typer.Option(False, "--watch", help=say("cli.help.sync.watch")),
    max_cycles: int = typer.Option(0, "--max-cycles", help=say("cli.help.sync.max_cycles")),
    batch_size: int = typer.Option(20_000, "--batch-size", min=1, help=say("cli.help.sync.batch_size")),
) -> None:
    """Land, validate, resolve and load source records into the graph, then report.

    While `shouhu serve` runs on the data directory the sync runs in the service (which owns the
    graph); this command starts it there and follows its progress until it ends."""
    if from_dir is not None and not from_dir.is_dir():
        what = say("sync.export_dir.not_dir" if from_dir.exists() else "sync.export_dir.missing")
        _fail(say("sync.export_dir", what=what, path=from_dir))
    if _sync_in_service(sources or None, from_dir, as_json, watch, batch_size):
        return
    from kernel.settings import get_settings

    # The turn first: a second sync is told one runs, instead of failing to open the graph it holds.
    with sync_lock(get_settings().data_dir), _stores(sync=True) as (settings, engine, graph):
        if watch:
            _watch(settings, engine, graph, from_dir, sources or None, max_cycles)
            return
        with progress_bars() as bars:
            pipeline = _pipeline(settings, engine, graph, from_dir, bars)
            pipeline.batch_size = batch_size
            try:
                report = pipeline.sync(sources or None)
            except ValueError as exc:
                _fail(str(exc))
            except GraphStoreError as exc:
                _stopped(exc)
            _drain(graph, engine, bars)
        _emit(report, as_json)


def _sync_in_service(
    sources: list[str] | None, from_dir: Path | None, as_json: bool, watch: bool, batch_size: int
) -> bool:
    """The sync run by the service on this data directory, if one runs: its progress drawn with the
    same bars, its report printed the same way, the same exit code. False when no service runs."""
    from kernel.settings import get_settings
    from shouhu.service.client import find_service
    from shouhu.service.operations import OperationError

    settings = get_settings()
    try:
        service = find_service(settings)
    except OperationError as exc:
        _fail(exc.message)
        return True
    if service is None:
        return False
    if watch:
        console.print(say("service.watch", data_dir=settings.data_dir), highlight=False)
        return True
    params = {
        "sources": sources,
        "from_dir": str(from_dir.resolve()) if from_dir is not None else None,
        "batch_size": batch_size,
    }
    job: dict[str, Any] = {}
    tasks: list[Any] = []
    try:
        with progress_bars() as bars:
            for job in service.sync(params):
                for i, phase in enumerate(job["phases"]):
                    if i == len(tasks):
                        tasks.append(bars.add_task(phase["label"], total=phase["total"]))
                    bars.update(tasks[i], total=phase["total"], completed=phase["completed"])
    except OperationError as exc:
        Console(stderr=True, soft_wrap=True).print(
            f"[bold red]{escape(say('cli.error', message=exc.message))}[/]", highlight=False
        )
        raise typer.Exit(exc.exit_code) from None
    except KeyboardInterrupt:
        err.print(say("service.stopped_following"))
        raise
    if job.get("status") != "completed" or job.get("report") is None:
        message = job.get("message") or say("service.no_report")
        code = int(job.get("exit_code") or 1)
        if message.startswith("sync stopped: "):
            reason = message.removeprefix("sync stopped: ")
            Console(stderr=True, soft_wrap=True).print(
                f"[bold red]{escape(say('cli.sync_stopped', reason=reason))}[/]",
                highlight=False,
            )
            raise typer.Exit(code)
        Console(stderr=True, soft_wrap=True).print(
            f"[bold red]{escape(say('cli.error', message=message))}[/]", highlight=False
        )
        raise typer.Exit(code)
    if done := job.get("reclassified"):
        _reclassified(done["children"], done["seconds"])
    from shouhu.service.reports import run_report_from_json

    _emit(run_report_from_json(job["report"]), as_json)
    return True


def _drain(graph: Any, engine: Engine, bars: Progress | None = None) -> None:
    """Derived state after the run: reclassify the people the durable queue names (this run's, and
    any an interrupted run left), through protection (the composition root may call upward)."""
    from protection.classification import drain, queued

    waiting = queued(engine)
    if not waiting:
        return
    task = bars.add_task(say("sync.reclassifying"), total=None) if bars is not None else None

    done = [0]

    def advance(n: int) -> None:
        done[0] += n
        if bars is not None and task is not None:
            bars.advance(task, n)

    result = drain(graph, engine, progress=advance)
    if bars is not None and task is not None:
        bars.update(task, total=max(done[0], 1), completed=max(done[0], 1))
    if result is not None:
        _reclassified(result.children, result.seconds)


def _reclassified(children: int, seconds: float) -> None:
    """The end-of-run reclassification line, on a terminal only (a pipe gets the report alone)."""
    if err.is_terminal:
        err.print(
            say("sync.reclassified", children=number(children), seconds=f"{seconds:,.1f}"), highlight=False
        )


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
    every = "，".join(
        say("sync.every", source=source_name(n), every=s.every)
        for n, s in pipeline.config.sources.items()
        if s.configured and (not only or n in only)
    )
    console.print(say("sync.watching", sources=every), highlight=False)
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


@quarantine_app.command("list", help=say("cli.help.quarantine.list"))
def quarantine_list(
    source: str = typer.Option(None, help=say("cli.help.quarantine.list.source")),
    reason: str = typer.Option(None, help=say("cli.help.quarantine.list.reason")),
    limit: int = typer.Option(50, help=say("cli.help.quarantine.list.limit")),
    as_json: bool = typer.Option(False, "--json", help=say("cli.help.quarantine.list.as_json")),
) -> None:
    """Quarantined records with their reasons, oldest first, and the count by reason."""
    from shouhu.cli.stores import run_operation

    result = run_operation("quarantine_list", source=source, reason=reason, limit=limit)
    counts, rows = result["counts"], result["rows"]
    if as_json:
        for r in rows:
            typer.echo(json.dumps(r, ensure_ascii=False))
        return
    total = sum(n for *_, n in counts)
    table = Table(title=say("quarantine.title", total=number(total)), title_justify="left")
    for col in ("seq", "source", "record", "reason", "message", "from"):
        table.add_column(say(f"quarantine.col.{col}"), overflow="fold")
    for r in rows:
        code = r["reason_code"]
        reason = f"{reason_name(code)}（{code}）" if code else ""
        table.add_row(
            str(r["seq"]), source_name(r["source"]), r["record_id"], reason, r["reason"] or "", r["origin"]
        )
    console.print(table)
    for src, code, n in counts:
        console.print(f"  {source_name(src)}  {reason_name(code)}（{code}）  {n:,}", highlight=False)


@quarantine_app.command("show", help=say("cli.help.quarantine.show"))
def quarantine_show(
    seq: int = typer.Argument(..., help=say("cli.help.quarantine.show.seq")),
) -> None:
    """One landed record: its reason and the raw payload as received."""
    with _stores(need_graph=False) as (_settings, engine, _graph), engine.connect() as conn:
        r = conn.execute(select(L).where(L.c.seq == seq)).first()
    if r is None:
        _fail(say("cli.no_landed_record", seq=seq))
        return
    console.print(
        f"{source_name(r.source)} {r.record_id} [{r.status}] {r.reason_code or ''} {r.reason or ''}",
        highlight=False,
    )
    console.print(say("quarantine.from", origin=r.origin, received=beijing(r.received_at)), highlight=False)
    typer.echo(json.dumps(json.loads(r.payload), ensure_ascii=False, indent=2))


@quarantine_app.command("replay", help=say("cli.help.quarantine.replay"))
def quarantine_replay(
    source: str = typer.Option(None, help=say("cli.help.quarantine.replay.source")),
    reason: str = typer.Option(None, help=say("cli.help.quarantine.replay.reason")),
    record_id: list[str] = typer.Option(  # noqa: B008
        None,
        "--record-id",
        help=say("cli.help.quarantine.replay.record_id"),  # noqa: B008
    ),
    as_json: bool = typer.Option(False, "--json", help=say("cli.help.quarantine.replay.as_json")),
) -> None:
    """Re-validate quarantined records from their stored payload; load what passes now."""
    from shouhu.cli.stores import run_operation
    from shouhu.service.reports import run_report_from_json

    with progress_bars() as bars:
        doc = run_operation(
            "quarantine_replay", bars, source=source, reason=reason, record_ids=record_id or None
        )
    if done := doc.get("reclassified"):
        _reclassified(done["children"], done["seconds"])
    _emit(run_report_from_json(doc["report"]), as_json)
    _files_left(doc["files_left"])


def _files_left(files: list[list[Any]]) -> None:
    """Whole files in quarantine cannot be replayed from the record (only their name is kept): say
    what to do with them instead."""
    if files:
        names = "，".join(f"{seq} {rid}" for seq, rid in files[:10])
        Console(stderr=True).print(say("quarantine.file_not_replayable", names=names), highlight=False)


@quarantine_app.command("dismiss", help=say("cli.help.quarantine.dismiss"))
def quarantine_dismiss(
    seqs: list[int] = typer.Argument(..., help=say("cli.help.quarantine.dismiss.seqs")),  # noqa: B008
    reason: str = typer.Option(..., "--reason", help=say("cli.help.quarantine.dismiss.reason")),
    by: str = typer.Option(None, "--by", help=say("cli.help.quarantine.dismiss.by")),
) -> None:
    """Take quarantined entries off the list (a whole file too: ``file:<name>``), with who and why."""
    import getpass

    from auth.audit import AuditLog
    from connectors.quarantine import DismissError, dismiss
    from shouhu.cli.stores import immediate

    with _stores(need_graph=False) as (_settings, engine, _graph):
        try:
            writer = immediate(engine)  # beside a running service: wait for its writes, do not fail
            done = dismiss(writer, seqs, by=by or getpass.getuser(), reason=reason, audit=AuditLog(writer))
        except DismissError as exc:
            _fail(str(exc))
            return
    for d in done:
        what = say("quarantine.whole_file" if d.record_id.startswith("file:") else "quarantine.record")
        console.print(
            say(
                "quarantine.dismissed", seq=d.seq, source=source_name(d.source), what=what, record=d.record_id
            ),
            highlight=False,
        )


# ---- cross-check ----------------------------------------------------------------------------------


@app.command("crosscheck", help=say("cli.help.crosscheck"))
def crosscheck_cmd(
    as_of: str = typer.Option(None, "--as-of", help=say("cli.help.crosscheck.as_of")),
    division: str = typer.Option("", "--division", help=say("cli.help.crosscheck.division")),
    examples: int = typer.Option(10, help=say("cli.help.crosscheck.examples")),
    as_json: bool = typer.Option(False, "--json", help=say("cli.help.crosscheck.as_json")),
) -> None:
    """Where the sources disagree: missing children, school-age children not enrolled, conflicts."""
    from datetime import date

    from shouhu.cli.stores import run_operation

    try:
        day = date.fromisoformat(as_of) if as_of else None
    except ValueError:
        _fail(say("cli.not_a_date", option="--as-of", value=repr(as_of)))
        return
    if division and (not division.isdigit() or len(division) > 12):
        _fail(say("cli.not_a_division_prefix", value=repr(division)))
    with progress_bars() as bars:
        doc = run_operation(
            "crosscheck",
            bars,
            as_of=day.isoformat() if day else None,
            division=division,
            examples=examples,
        )
    if as_json:
        typer.echo(json.dumps(doc, ensure_ascii=False))
        return
    console.print(
        say("crosscheck.head", as_of=doc["as_of"], children=number(doc["children"])), highlight=False
    )
    table = Table(title_justify="left")
    table.add_column(say("crosscheck.col.finding"))
    table.add_column(say("crosscheck.col.children"), justify="right")
    table.add_column(say("crosscheck.col.examples"), overflow="fold")
    for name, item in doc["missing"].items():
        table.add_row(_finding(name), f"{item['count']:,}", ", ".join(item["examples"][:3]))
    for key in ("school_age_not_enrolled", "survey_parents_away_but_register_mother_home"):
        item = doc[key]
        table.add_row(say(f"crosscheck.{key}"), f"{item['count']:,}", ", ".join(item["examples"][:3]))
    console.print(table)
    if doc["conflicting_attributes"]:
        conflicts = "，".join(f"{attribute_name(k)} {v:,}" for k, v in doc["conflicting_attributes"].items())
        console.print(say("crosscheck.conflicts", conflicts=conflicts), highlight=False)
    by_sources = "，".join(f"{_source_set(k)} {v:,}" for k, v in list(doc["children_by_sources"].items())[:8])
    console.print(say("crosscheck.by_sources", counts=by_sources), highlight=False)


def _finding(name: str) -> str:
    """A finding's name from the catalogue (the code itself if the catalogue lacks it)."""
    key = f"crosscheck.{name}"
    return say(key) if key in MESSAGES else name


def _source_set(key: str) -> str:
    """A ``+``-joined set of source codes as names."""
    return "+".join(source_name(part) for part in key.split("+"))


# ---- runs -----------------------------------------------------------------------------------------


@app.command("runs", help=say("cli.help.runs"))
def runs(
    limit: int = typer.Option(20, help=say("cli.help.runs.limit")),
    as_json: bool = typer.Option(False, "--json", help=say("cli.help.runs.as_json")),
) -> None:
    """Stored run reports, newest first: one row per run and source."""
    from shouhu.cli.stores import run_operation

    rows = run_operation("runs", limit=limit)["rows"]
    if as_json:
        for r in rows:
            typer.echo(json.dumps(r["report"], ensure_ascii=False))
        return
    table = Table(title=say("runs.title"), title_justify="left")
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
        table.add_column(say(f"runs.col.{col}" if f"runs.col.{col}" in MESSAGES else f"sync.col.{col}"))
    for r in rows:
        table.add_row(
            r["run_id"][:8],
            source_name(r["source"]),
            say(f"kind.{r['kind']}") if f"kind.{r['kind']}" in MESSAGES else r["kind"],
            say(f"status.{r['status']}") if f"status.{r['status']}" in MESSAGES else r["status"],
            beijing(datetime.fromisoformat(r["started"])),
            f"{r['received']:,}",
            f"{r['loaded']:,}",
            f"{r['quarantined']:,}",
            str(r["unexplained"]) if r["status"] == "completed" else "-",
        )
    console.print(table)
