"""Run every benchmark in turn; each writes its own JSON file under bench/results/ and prints it."""

from __future__ import annotations

import argparse

BENCHES = (
    "graph",
    "api",
    "audit",
    "network",
    "console",
    "protection",
    "screening",
    "record",
    "resolution",
    "lists",
)


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench")
    parser.add_argument("--persons", type=int, default=1_000_000, help="people in the graph benchmark")
    parser.add_argument(
        "--record-persons",
        type=int,
        default=200_000,
        help="people in the county of the graph verify/rebuild benchmark",
    )
    parser.add_argument("--only", choices=BENCHES, action="append", help="run only these (repeatable)")
    args = parser.parse_args()
    chosen = args.only or list(BENCHES)
    if "graph" in chosen:
        from bench import graph_bench

        graph_bench.run(persons=args.persons)
    if "api" in chosen:
        from bench import api_bench

        api_bench.run()
    if "audit" in chosen:
        from bench import audit_bench

        audit_bench.run()
    if "network" in chosen:
        from bench import network_bench

        network_bench.run(persons=args.persons)
    if "console" in chosen:
        from bench import console_bench

        console_bench.run()
    if "protection" in chosen:
        from bench import protection_bench

        protection_bench.run()
    if "screening" in chosen:
        from bench import screening_bench

        screening_bench.run()
    if "record" in chosen:
        from bench import record_bench

        record_bench.run(persons=args.record_persons)
    if "lists" in chosen:
        from bench import lists_bench

        lists_bench.run(persons=args.persons)
    if "resolution" in chosen:
        from bench import resolution_bench

        resolution_bench.run()


if __name__ == "__main__":
    main()
