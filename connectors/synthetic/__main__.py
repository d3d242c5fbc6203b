"""``python -m connectors.synthetic OUT_DIR --persons N --seed S``: generate and summarise."""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from connectors.synthetic import NoiseRates, generate


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description="Generate a synthetic county's source exports and ground truth."
    )
    parser.add_argument("out_dir", type=Path)
    parser.add_argument("--persons", type=int, default=20_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--noise-scale", type=float, default=1.0, help="multiply every default noise rate")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    summary = generate(args.out_dir, args.persons, args.seed, noise=NoiseRates().scaled(args.noise_scale))
    print(summary.describe())
    print(f"({time.perf_counter() - started:.1f} s)")


if __name__ == "__main__":
    main()
