"""Run every benchmark in turn; each writes its own JSON file under bench/results/ and prints it."""

from __future__ import annotations

import argparse

BENCHES = (
    "graph",
    "api",
    "audit_tx",
    "audit_group",
    "audit",
    "network",
    "console",
    "protection",
    "screening",
    "record",
    "resolution",
    "service",
    "lists",
    "crosscheck",
    "classification",
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
    parser.add_argument(
        "--api-persons", type=int, default=50_000, help="people in the HTTP profile benchmark"
    )
    parser.add_argument("--api-requests", type=int, default=2000, help="measured requests per mode")
    parser.add_argument("--profile", action="store_true", help="profile the enforcing server (py-spy)")
    parser.add_argument(
        "--service-persons",
        type=int,
        default=20_000,
        help="people in the county synced through the service while clients read profiles",
    )
    parser.add_argument(
        "--record-data",
        default=None,
        help="a data directory already synced with --record-persons people (skips generate and sync)",
    )
    parser.add_argument(
        "--lists-part",
        choices=("pages", "network", "batch"),
        action="append",
        help="lists benchmark: run only these parts (repeatable; the others' last figures are kept)",
    )
    parser.add_argument("--lists-requests", type=int, default=200, help="lists benchmark: requests per part")
    parser.add_argument("--only", choices=BENCHES, action="append", help="run only these (repeatable)")
    args = parser.parse_args()
    chosen = args.only or list(BENCHES)
    if "graph" in chosen:
        from bench import graph_bench

        graph_bench.run(persons=args.persons)
    if "api" in chosen:
        from bench import api_bench

        api_bench.run(persons=args.api_persons, requests=args.api_requests, profile=args.profile)
    if "audit_tx" in chosen:
        from bench import audit_tx_bench

        audit_tx_bench.run()
    if "audit_group" in chosen:
        from bench import audit_group_bench

        audit_group_bench.run()
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
        from pathlib import Path

        from bench import record_bench

        synced = Path(args.record_data) if args.record_data else None
        record_bench.run(persons=args.record_persons, synced=synced)
    if "lists" in chosen:
        from bench import lists_bench

        lists_bench.run(
            persons=args.persons,
            requests=args.lists_requests,
            parts=tuple(args.lists_part or lists_bench.PARTS),
        )
    if "crosscheck" in chosen:
        from bench import lists_bench

        lists_bench.run_crosscheck(persons=args.persons)
    if "classification" in chosen and "lists" not in chosen:
        from bench import lists_bench

        lists_bench.run_classification(persons=min(args.persons, 200_000))
    if "resolution" in chosen:
        from bench import resolution_bench

        resolution_bench.run()
    if "service" in chosen:
        from bench import service_bench

        service_bench.run(persons=args.service_persons)


if __name__ == "__main__":
    main()
