"""Entity resolution against ground truth: a synthetic county at scale, FEBRL3 and FEBRL4.

The county is generated (``connectors.synthetic``), its person mentions read from the
source files, and resolved into a fresh SQLite database twice: once in one run (every
mention at once) and once as the sync pipeline calls the resolver, in batches of 20,000
mentions source by source, each batch compared with everything resolved before it.
Pairwise precision, recall and F1 are reported overall and on the pairs that involve a
mention without a valid ID number (the pairs resolution has to decide); the design
target is 0.99 for each. FEBRL3 (deduplication) and FEBRL4 (two-file linkage) run
through the same Splink configuration path with an English comparison set.

    .venv/bin/python -m bench.resolution_bench [--persons 200000] [--no-incremental]
"""

from __future__ import annotations

import argparse
import resource
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.report import write

BATCH = 20_000
SYSTEM_ORDER = ("police_hukou", "police_incident", "education", "health", "survey")


def run(persons: int = 200_000, seed: int = 11, incremental: bool = True) -> dict[str, Any]:
    """Measure and write ``bench/results/resolution.json``; returns the figures."""
    from connectors.resolution.evaluate import evaluate_febrl3, evaluate_febrl4

    with tempfile.TemporaryDirectory(prefix="shouhu-resolution-bench-") as tmp:
        county = _county(Path(tmp), persons, seed, incremental)
    figures: dict[str, Any] = {
        "county": county,
        "febrl3": evaluate_febrl3(),
        "febrl4": evaluate_febrl4(),
        "settings": _settings(),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
    }
    write("resolution", figures)
    return figures


def _settings() -> dict[str, Any]:
    from dataclasses import asdict

    from connectors.resolution.chinese import PERSON_SPEC
    from connectors.resolution.resolver import ResolverSettings

    return {
        **asdict(ResolverSettings()),
        "blocking_rules": list(PERSON_SPEC.blocking_rules),
        "pair_condition": PERSON_SPEC.pair_condition,
        "comparisons": [c.create_output_column_name() for c in PERSON_SPEC.comparisons()],
    }


def _county(tmp: Path, persons: int, seed: int, incremental: bool) -> dict[str, Any]:
    from connectors.resolution.evaluate import county_mentions, split_scores
    from connectors.resolution.resolver import open_review_count, resolve
    from connectors.synthetic import generate
    from kernel.db import make_engine, migrate

    out = tmp / "county"
    t0 = time.perf_counter()
    generate(out, persons, seed)
    t_generate = time.perf_counter() - t0
    t0 = time.perf_counter()
    mentions, truth = county_mentions(out)
    t_parse = time.perf_counter() - t0
    with_id = [m.key for m in mentions if m.id_number]
    result: dict[str, Any] = {
        "persons": persons,
        "seed": seed,
        "mentions": len(mentions),
        "mentions_without_id": len(mentions) - len(with_id),
        "true_people": len(set(truth.values())),
        "seconds": {"generate": round(t_generate, 1), "parse_sources": round(t_parse, 1)},
    }

    engine = make_engine(f"sqlite:///{(tmp / 'one_run.sqlite3').as_posix()}")
    migrate(engine)
    t0 = time.perf_counter()
    keys = resolve(engine, mentions)
    result["seconds"]["resolve_one_run"] = round(time.perf_counter() - t0, 1)
    scores = split_scores(keys, truth, with_id)
    result["one_run"] = {
        "overall": scores["overall"].as_dict(),
        "no_id": scores["no_id"].as_dict(),
        "resolved_people": len(set(keys.values())),
        "open_reviews": open_review_count(engine),
    }
    engine.dispose()

    if incremental:
        engine = make_engine(f"sqlite:///{(tmp / 'batches.sqlite3').as_posix()}")
        migrate(engine)
        ordered = sorted(mentions, key=lambda m: SYSTEM_ORDER.index(m.system))
        t0 = time.perf_counter()
        batch_seconds = []
        for start in range(0, len(ordered), BATCH):
            tb = time.perf_counter()
            resolve(engine, ordered[start : start + BATCH])
            batch_seconds.append(round(time.perf_counter() - tb, 1))
        result["seconds"]["resolve_in_batches"] = round(time.perf_counter() - t0, 1)
        result["seconds"]["per_batch"] = batch_seconds
        final = resolve(engine, mentions)  # nothing new: today's key of every mention
        scores = split_scores(final, truth, with_id)
        result["in_batches"] = {
            "batch": BATCH,
            "overall": scores["overall"].as_dict(),
            "no_id": scores["no_id"].as_dict(),
            "resolved_people": len(set(final.values())),
            "open_reviews": open_review_count(engine),
        }
        engine.dispose()
    return result


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.resolution_bench")
    parser.add_argument("--persons", type=int, default=200_000)
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--no-incremental", action="store_true")
    args = parser.parse_args()
    run(persons=args.persons, seed=args.seed, incremental=not args.no_incremental)


if __name__ == "__main__":
    main()
