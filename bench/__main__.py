"""Run every benchmark in turn; each writes its own JSON file under bench/results/."""

from __future__ import annotations

import argparse

from bench import graph_bench


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench")
    parser.add_argument("--persons", type=int, default=1_000_000)
    parser.add_argument("--only", choices=["graph"], default=None)
    args = parser.parse_args()
    if args.only in (None, "graph"):
        graph_bench.run(persons=args.persons)


if __name__ == "__main__":
    main()
