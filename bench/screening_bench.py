"""Screening and classification over the whole demo county, and the county's quarterly report.

Builds the county as ``make serve`` does (``shouhu demo generate --persons 20000 --seed 7``
then ``shouhu sync --from``, in a child process with fresh stores; the sync ends with a
reclassification, so its time includes one), then measures in process:

* a full recompute (classification + every screening rule + materialisation + statistics
  snapshot) over every child of the county: seconds and children per second;
* one child's recompute (what a recorded visit costs on top of the write), p50/p99;
* the agreement of the computed left-behind / in-distress flags with the generator's
  ground truth (children matched to true persons through the resolver's person links),
  as of the export day so ages agree with the truth file;
* the county worklist (top 50 by priority) and a statistics series, p50/p99;
* the county's quarterly report: roll-up, then CSV and XLSX export, p50/p99.
"""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
import tempfile
import time
from collections import Counter, defaultdict
from datetime import date
from pathlib import Path
from typing import Any

from bench.report import percentiles, write

PERSONS = 20_000
SEED = 7
AS_OF = date(2024, 9, 30)  # the synthetic export day (connectors.synthetic DEFAULT_AS_OF)
COUNTY = "500248000000"


def _cli(args: list[str], data: Path) -> float:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SHOUHU_")}
    env.update({"SHOUHU_DATA_DIR": str(data), "SHOUHU_GRAPH_BUFFER_POOL_MB": "1024"})
    started = time.perf_counter()
    out = subprocess.run([sys.executable, "-m", "shouhu.cli", *args], env=env, capture_output=True, text=True)
    if out.returncode != 0:
        raise RuntimeError(f"shouhu {args[0]} failed ({out.returncode}): {out.stderr[-2000:]}")
    return time.perf_counter() - started


def _truth_agreement(engine: Any, export: Path) -> dict[str, Any]:
    """Precision and recall of the left-behind and in-distress flags against the truth file."""
    from sqlalchemy import text

    truth_of: dict[tuple[str, str], str] = {}
    with open(export / "truth" / "source_records.csv", encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            truth_of[(row["system"], row["record_id"])] = row["person_key"]
    truth: dict[str, dict[str, str]] = {}
    with open(export / "truth" / "persons.csv", encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            truth[row["person_key"]] = row
    votes: dict[str, Counter[str]] = defaultdict(Counter)
    with engine.connect() as conn:
        for system, record_id, key in conn.execute(
            text("SELECT system, record_id, person_key FROM person_link")
        ):
            if (system, record_id) in truth_of:
                votes[key][truth_of[(system, record_id)]] += 1
        rows = conn.execute(
            text("SELECT person_id, left_behind, in_distress, categories FROM child_classification")
        )
        rows = [(r[0], r[1], r[2], r[3] if isinstance(r[3], list) else json.loads(r[3])) for r in rows]
    graph_to_truth = {k: c.most_common(1)[0][0] for k, c in votes.items()}

    def score(predicted: set[str | None], actual: set[str]) -> dict[str, Any]:
        predicted.discard(None)
        tp = len(predicted & actual)
        return {
            "truth": len(actual),
            "computed": len(predicted),
            "precision": round(tp / len(predicted), 4) if predicted else None,
            "recall": round(tp / len(actual), 4) if actual else None,
        }

    def of(pid: str) -> str | None:
        return graph_to_truth.get(pid.removeprefix("person:"))

    out: dict[str, Any] = {
        "left_behind": score(
            {of(r[0]) for r in rows if r[1]}, {k for k, t in truth.items() if t["left_behind"] == "1"}
        ),
        "in_distress": score(
            {of(r[0]) for r in rows if r[2]}, {k for k, t in truth.items() if t["in_distress"]}
        ),
    }
    # The generator's names of the in-distress kinds (truth persons.csv, '|'-separated).
    names = {
        "orphan": "orphan",
        "de_facto_unsupported": "de_facto_unsupported",
        "disability": "disabled",
        "serious_illness": "seriously_ill",
        "poor_family": "dibao|tekun",
    }
    for cat, truth_names in names.items():
        wanted = set(truth_names.split("|"))
        actual = {k for k, t in truth.items() if wanted & set(filter(None, t["in_distress"].split("|")))}
        out[cat] = score({of(r[0]) for r in rows if cat in r[3]}, actual)
    return out


def run(persons: int = PERSONS) -> dict[str, Any]:
    from graph.factory import open_graph
    from kernel.db import make_engine
    from kernel.settings import Settings
    from protection import reporting, screening, statistics
    from protection.classification import recompute

    with tempfile.TemporaryDirectory() as tmp:
        data, export = Path(tmp) / "data", Path(tmp) / "export"
        gen_s = _cli(
            ["demo", "generate", "--persons", str(persons), "--seed", str(SEED), "--out", str(export)], data
        )
        sync_s = _cli(["sync", "--from", str(export)], data)
        settings = Settings(data_dir=data, graph_buffer_pool_mb=1024)
        store = open_graph(settings)
        engine = make_engine(settings.sql_url)
        try:
            full = recompute(store, engine, as_of=AS_OF, trigger="bench")
            agreement = _truth_agreement(engine, export)
            from sqlalchemy import text

            with engine.connect() as conn:
                ids = [
                    r[0] for r in conn.execute(text("SELECT person_id FROM child_classification LIMIT 30"))
                ]
                cats = Counter(
                    c
                    for (raw,) in conn.execute(text("SELECT categories FROM child_classification"))
                    for c in (raw if isinstance(raw, list) else json.loads(raw))
                )
            one = []
            for pid in ids:
                t0 = time.perf_counter()
                recompute(store, engine, [pid], as_of=AS_OF, trigger="bench")
                one.append(time.perf_counter() - t0)
            wl, rep, rep_as_of, csv_t, xlsx_t, stat = [], [], [], [], [], []
            for _ in range(20):
                t0 = time.perf_counter()
                page = screening.worklist(engine, COUNTY[:6], first=50)
                wl.append(time.perf_counter() - t0)
                t0 = time.perf_counter()
                view = reporting.view(engine, COUNTY, "2024-Q3")
                rep.append(time.perf_counter() - t0)
                # An ended quarter as the API shows it: its children as of its last day.
                t0 = time.perf_counter()
                reporting.view(engine, COUNTY, "2024-Q3", store)
                rep_as_of.append(time.perf_counter() - t0)
                t0 = time.perf_counter()
                reporting.to_csv(view)
                csv_t.append(time.perf_counter() - t0)
                t0 = time.perf_counter()
                reporting.to_xlsx(view)
                xlsx_t.append(time.perf_counter() - t0)
                t0 = time.perf_counter()
                statistics.series(engine, COUNTY, "category")
                stat.append(time.perf_counter() - t0)
        finally:
            store.close()
            engine.dispose()
    figures: dict[str, Any] = {
        "county": {"persons": persons, "seed": SEED, "as_of": AS_OF.isoformat()},
        "generate_seconds": round(gen_s, 1),
        "sync_seconds_including_reclassification": round(sync_s, 1),
        "classification_and_screening": {
            "children": full.children,
            "seconds": round(full.seconds, 2),
            "children_per_second": round(full.per_second, 1),
            "categories": dict(sorted(cats.items())),
            "worklist_children": page.total,
            "worklist_by_rule": dict(sorted(page.by_rule.items())),
        },
        "one_child_recompute": percentiles(one),
        "agreement_with_ground_truth": agreement,
        "county_worklist_top50": percentiles(wl),
        "county_quarterly_report": {
            "rollup": percentiles(rep),
            "rollup_as_of_period_end": percentiles(rep_as_of),
            "csv": percentiles(csv_t),
            "xlsx": percentiles(xlsx_t),
            "townships": len(view.rows),
            "children": view.totals.get("children", 0),
        },
        "statistics_series_by_category": percentiles(stat),
    }
    write("screening", figures)
    return figures


if __name__ == "__main__":
    run(int(sys.argv[1]) if len(sys.argv) > 1 else PERSONS)
