"""LadybugDB-specific behaviour beside the shared contract: the store reopening itself."""

from __future__ import annotations

from pathlib import Path

import pytest

from graph.ladybug import LadybugStore
from tests.contract.test_graph_store import family


def test_reopening_between_transactions_keeps_every_write(tmp_path: Path) -> None:
    store = LadybugStore(tmp_path / "g.lbug", buffer_pool_mb=128)
    store.init_schema()
    store.reopen_after_writes = 1  # reopen after every committed write
    family(store)
    family(store)
    stats = store.stats()
    assert stats["nodes"]["Person"] == 5
    assert stats["relationships"]["PARENT_OF"] == 4
    assert store.neighbourhood("person:child", 1).nodes.keys() >= {"person:father", "person:granny"}
    store.close()


def test_a_long_run_of_reads_survives_a_small_buffer_pool(tmp_path: Path) -> None:
    """LadybugDB holds pool pages per statement until reopened; the store must reopen in time."""
    store = LadybugStore(tmp_path / "g.lbug", buffer_pool_mb=128)
    store.init_schema()
    family(store)
    for _ in range(400):
        assert "person:granny" in store.neighbourhood("person:child", 2).nodes
    with store.transaction():  # a transaction straddling the budget is never cut by a reopen
        for _ in range(40):
            store.upsert_nodes([])
            store.get_node("person:child")
    store.close()


def test_a_long_run_of_small_write_steps_survives_a_small_buffer_pool(tmp_path: Path) -> None:
    """Workflow steps write a node and a relationship or two at a time; those one-row writes go
    by point lookups and are counted so that the store reopens before the pool fills."""
    from datetime import datetime, timedelta

    from graph.records import Assertion, NodeRecord, RelRecord

    store = LadybugStore(tmp_path / "g.lbug", buffer_pool_mb=128)
    store.init_schema()
    family(store)
    for k in range(500):
        step = Assertion("manual", f"case-{k % 50}", datetime(2026, 5, 1) + timedelta(seconds=k))
        with store.transaction():
            store.upsert_nodes([NodeRecord(f"protectioncase:c{k % 50}", {"status": f"s{k}"}, step)])
            store.upsert_rels([RelRecord("CONCERNS", f"protectioncase:c{k % 50}", "person:child", {}, step)])
            store.upsert_rels(
                [
                    RelRecord(
                        "GUARDIAN_OF",
                        "person:granny",
                        "person:child",
                        {"since": f"2024-{k % 12 + 1:02d}-01"},
                        step,
                    )
                ]
            )
    rel = store.neighbourhood("person:child", 1, ["GUARDIAN_OF"]).rels[
        "GUARDIAN_OF:person:granny>person:child"
    ]
    assert rel.props["since"] == "2024-08-01"  # the last step's value (k = 499)
    assert store.stats()["nodes"]["ProtectionCase"] == 50
    store.close()


class _Stopped(BaseException):
    """What the API raises in a request's thread when it stops the request (an async exception)."""


def test_a_reopen_stopped_half_way_is_finished_by_the_next_statement(tmp_path: Path) -> None:
    """A request cancelled between closing and reopening the database must not leave the store
    closed for every later request ("Connection is closed")."""
    store = LadybugStore(tmp_path / "g.lbug", buffer_pool_mb=128)
    store.init_schema()
    family(store)

    def stopped() -> None:
        raise _Stopped

    store._open = stopped  # type: ignore[method-assign]
    with pytest.raises(_Stopped):
        store._reopen()
    del store._open  # the class's own method again
    assert store.get_node("person:child") is not None
    assert "person:granny" in store.neighbourhood("person:child", 2).nodes
    store.close()


def test_list_pages_read_on_without_reopening_the_store_every_page(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A people page is a dozen statements that hold no pool pages (primary-key lookups under
    UNWIND); only a `LOAD FROM` of an Arrow table does. Counted one unit each, pages read on in a
    small pool without failing, and the store reopens (0.14-0.26 s each on a loaded machine) once
    in many pages: at one reopen per 16 statements of any kind it reopened almost every page."""
    from bench.graph_bench import _division_records, _population
    from graph.profile import load_profiles

    store = LadybugStore(tmp_path / "g.lbug", buffer_pool_mb=64)
    store.init_schema()
    nodes, rels = _division_records()
    store.upsert_nodes(nodes)
    store.upsert_rels(rels)
    villages: set[str] = set()
    for nodes, rels in _population(3000, seed=5):
        store.upsert_nodes(nodes)
        store.upsert_rels(rels)
        villages |= {str(n.props["division"]) for n in nodes if n.id.startswith("household:")}
    reopens = _count_reopens(store, monkeypatch)
    pages = 0
    for village in sorted(villages)[:300]:
        ids, _more = store.residents(village, first=100)
        profiles = load_profiles(store, ids)
        assert ids and all(profiles[i] is not None for i in ids), village
        pages += 1
    assert reopens[0] <= pages // 10, (reopens[0], pages)


def test_batches_whose_committed_pages_outgrow_the_pool_reopen_by_measured_use(tmp_path: Path) -> None:
    """A sync writes batch after batch of thousands of rows; the pages each committed batch touched
    stay in the pool, and how many depends on the tables' size, not on the number of statements.
    The 200,000-person sync filled its 4 GB pool in the survey source while the write count (one
    unit per MB of pool: some 400 batch statements) still allowed more. Here the count allows what
    a 4 GB pool allows, on a 64 MB pool: the store must read the pool's use and reopen in time."""
    from datetime import datetime

    from graph.records import Assertion, NodeRecord, RelRecord

    store = LadybugStore(tmp_path / "g.lbug", buffer_pool_mb=64)
    store.init_schema()
    store.reopen_after_writes = 4096  # what a 4 GB pool's count allows
    at = datetime(2026, 5, 1)
    peak = 0
    for b in range(16):
        people = [
            NodeRecord(
                f"person:p{b:02d}{i:04d}",
                {
                    "name": f"姓名{b}-{i}",
                    "registered_address": "某县某镇某村" * 4,
                    "id_number": f"{b:02d}{i:016d}",
                },
                Assertion("police_hukou", f"r{b}-{i}", at),
            )
            for i in range(1_500)
        ]
        with store.transaction():
            store.upsert_nodes(people)
            store.upsert_rels(
                RelRecord("PARENT_OF", people[i - 1].id, people[i].id, {"role": "father"}, people[i].source)
                for i in range(1, len(people), 2)
            )
        peak = max(peak, store.pool_use()[0])
    assert store.stats()["nodes"]["Person"] == 24_000
    assert store.stats()["relationships"]["PARENT_OF"] == 12_000
    assert peak < 64 * 2**20 * 0.9
    store.close()


def test_a_reopen_folds_the_pending_log_instead_of_replaying_it(tmp_path: Path) -> None:
    """With the engine's per-COMMIT checkpoint off (checkpoint by log size), the pages of committed,
    un-checkpointed writes stay in the pool; a reopen for pool pressure that left the log to be
    replayed on open brought them back, so the store replayed a growing log at every batch."""
    from datetime import datetime

    from graph.records import Assertion, NodeRecord

    store = LadybugStore(tmp_path / "g.lbug", buffer_pool_mb=64, checkpoint_mb=1024)
    store.init_schema()
    store.chunk_size = 150  # many statements: reopens for the statement budget too, with a log pending
    at = datetime(2026, 5, 1)
    largest = 0
    for b in range(10):
        people = [
            NodeRecord(
                f"person:p{b:02d}{i:04d}",
                {"name": f"姓名{b}-{i}", "registered_address": "某县某镇某村" * 4},
                Assertion("police_hukou", f"r{b}-{i}", at),
            )
            for i in range(3_000)
        ]
        with store.transaction():
            store.upsert_nodes(people)
        largest = max(largest, store.wal_bytes())
    assert store.stats()["nodes"]["Person"] == 30_000
    # 64 MB of pool reopens at 40% (26 MB): the log a reopen finds is folded, so it never grows
    # towards the 1 GB checkpoint size (replayed instead, it grew with every batch).
    assert largest < 24 * 2**20, largest
    store.close()


def test_concurrent_reads_in_a_small_pool_do_not_fill_it(tmp_path: Path) -> None:
    """Each read connection pins pool pages of its own: four threads reading 2-hop neighbourhoods on
    four connections filled a 64 MB pool and nearly every read failed ('buffer pool is full'), and
    the store kept failing after they stopped. A small pool gets fewer read connections."""
    import random
    import threading

    from bench.graph_bench import _division_records, _population

    store = LadybugStore(tmp_path / "g.lbug", buffer_pool_mb=64)
    store.init_schema()
    nodes, rels = _division_records()
    store.upsert_nodes(nodes)
    store.upsert_rels(rels)
    people: list[str] = []
    for nodes, rels in _population(1000, seed=5):
        store.upsert_nodes(nodes)
        store.upsert_rels(rels)
        people += [n.id for n in nodes if n.id.startswith("person:")]
    failures: list[str] = []
    reads = [0]

    def read(seed: int) -> None:
        rng = random.Random(seed)
        for _ in range(60):
            try:
                store.neighbourhood(rng.choice(people), 2)
                reads[0] += 1
            except Exception as exc:  # every failure is the finding
                failures.append(str(exc)[:100])

    threads = [threading.Thread(target=read, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not failures, (len(failures), reads[0], failures[:1])
    assert store.neighbourhood(people[0], 2).nodes  # and the store reads on afterwards
    store.close()


def test_looking_up_relationships_before_writing_them_holds_no_pool_pages(tmp_path: Path) -> None:
    """A batch upsert looks up the stored provenance of its relationships first. LadybugDB held the
    pool pages of that lookup when it scanned an Arrow table of (source, id) pairs, read after read
    until the store reopened (50-60 MB per 5,000 keys at 60,000 persons: what filled a sync's pool
    and made it reopen, a checkpoint of the touched tables first). The same records again change
    nothing, so only the lookup runs: the pool's use must not grow with the repeats."""
    from datetime import datetime

    from graph.records import Assertion, NodeRecord, RelRecord

    store = LadybugStore(tmp_path / "g.lbug", buffer_pool_mb=256)
    store.init_schema()
    at = datetime(2026, 5, 1)
    people = [
        NodeRecord(f"person:p{i:05d}", {"name": f"姓名{i}"}, Assertion("police_hukou", f"r{i}", at))
        for i in range(6_000)
    ]
    rels = [
        RelRecord("PARENT_OF", people[i - 1].id, people[i].id, {"role": "father"}, people[i].source)
        for i in range(1, len(people), 2)
    ]
    store.upsert_nodes(people)
    store.upsert_rels(rels)
    store.close()
    store = LadybugStore(tmp_path / "g.lbug", buffer_pool_mb=256)
    use = []
    for _ in range(8):
        result = store.upsert_rels(rels)
        assert result.unchanged == len(rels)
        use.append(store.pool_use()[0])
    assert use[-1] - use[1] < 8 * 2**20, [round(u / 2**20, 1) for u in use]  # it grew 25 MB
    store.close()


def test_batch_writes_with_the_pool_mostly_free_do_not_reopen_the_store(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A reopen of a store with a pending log checkpoints first, which rewrites every touched table
    whole (1.5-45 s each in a 60,000-person sync on a loaded machine). The sync's seven reopens all
    came from the statement and write counts, with the pool at 318-684 MB of 1,536: a spent count
    must reopen only when the pool's use is above the reopen line."""
    from datetime import datetime

    from graph.records import Assertion, NodeRecord

    store = LadybugStore(tmp_path / "g.lbug", buffer_pool_mb=256, checkpoint_mb=1024)
    store.init_schema()
    reopens = _count_reopens(store, monkeypatch)
    at = datetime(2026, 5, 1)
    for b in range(60):  # 60 batch creates: 960 units of a 256-unit statement budget
        with store.transaction():
            store.upsert_nodes(
                NodeRecord(
                    f"person:p{b:02d}{i:03d}", {"name": f"姓名{i}"}, Assertion("police_hukou", f"r{i}", at)
                )
                for i in range(50)
            )
    assert store.stats()["nodes"]["Person"] == 3_000
    used, size = store.pool_use()
    assert used < size * store.REOPEN_AT_SHARE
    assert reopens[0] == 0
    store.close()


def _count_reopens(store: LadybugStore, monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """How often the store reopens from now on (a one-element list the test reads at the end)."""
    count = [0]
    reopen = store._reopen

    def counted() -> None:
        count[0] += 1
        reopen()

    monkeypatch.setattr(store, "_reopen", counted)
    return count
