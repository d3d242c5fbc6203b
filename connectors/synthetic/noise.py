"""The kinds of error real agency data has, applied at configurable rates and counted.

Each kind is applied per *opportunity* (a name field, an ID field, a date whose day and
month can be swapped, a record that could be left out …), and both the opportunities and
the applications are counted per source system. The applied kinds of every record are
also written into the ground truth, so that a connector's validator and the entity
resolver can be scored on exactly the errors that were injected.

Rates are per opportunity, so the realised rate of a kind in a source is
``applied / eligible`` and comes out near the configured rate however large or small the
run is (binomial noise aside).
"""

from __future__ import annotations

import random
from collections import Counter
from dataclasses import asdict, dataclass, fields, replace
from datetime import date

from connectors.synthetic import vocab

__all__ = ["NOISE_KINDS", "Noise", "NoiseRates"]

# The noise kinds as counted in the summary and named in truth/source_records.csv.
NOISE_KINDS: tuple[str, ...] = (
    "homophone_name",
    "typo_name",
    "wrong_id",
    "missing_id",
    "id_format",
    "swapped_date",
    "stale_address",
    "stale_flag",
    "duplicate_in_survey",
    "absent_from_source",
    "malformed_row",
)


@dataclass(frozen=True)
class NoiseRates:
    """Per-opportunity rates; see FORMATS.md for what each kind does to a record.

    ``missing_id`` is the rate in the education registry and police incidents; the village
    survey and health records have their own, higher rates because ID numbers there are
    copied by hand or not asked for. The household register (户籍) is the system of record
    for identity and gets no name, ID, date or address noise: only malformed rows and
    children missing from it (unregistered births).
    """

    homophone_name: float = 0.03
    typo_name: float = 0.01
    wrong_id: float = 0.01
    missing_id: float = 0.02
    missing_id_survey: float = 0.12
    missing_id_health: float = 0.10
    id_format: float = 0.03
    swapped_date: float = 0.02
    stale_address: float = 0.04
    stale_flag: float = 0.05
    duplicate_in_survey: float = 0.02
    absent_from_source: float = 0.03
    malformed_row: float = 0.003

    def __post_init__(self) -> None:
        for f in fields(self):
            value = getattr(self, f.name)
            if not 0.0 <= value <= 1.0:
                raise ValueError(f"noise rate {f.name}={value} is not within [0, 1]")

    @classmethod
    def none(cls) -> NoiseRates:
        """Clean data: every source agrees with the truth (useful to test a pipeline)."""
        return cls(**{f.name: 0.0 for f in fields(cls)})

    def scaled(self, factor: float) -> NoiseRates:
        """All rates multiplied by ``factor`` (capped at 1)."""
        return replace(self, **{k: min(1.0, v * factor) for k, v in asdict(self).items()})

    def rate_for(self, kind: str, system: str) -> float:
        """The configured rate of ``kind`` in ``system``."""
        if kind == "missing_id":
            if system == "survey":
                return self.missing_id_survey
            if system == "health":
                return self.missing_id_health
        return float(getattr(self, kind))


class Noise:
    """Applies noise with its own random stream and counts it per (system, kind).

    The stream is separate from the one that builds the population, so the same seed
    with different noise rates gives the same people and the same true facts.
    """

    def __init__(self, rates: NoiseRates, rng: random.Random) -> None:
        self.rates = rates
        self.rng = rng
        self.applied: Counter[tuple[str, str]] = Counter()
        self.eligible: Counter[tuple[str, str]] = Counter()

    def roll(self, system: str, kind: str, rate: float | None = None) -> bool:
        """Count one opportunity of ``kind`` and decide whether it happens."""
        self.eligible[system, kind] += 1
        p = self.rates.rate_for(kind, system) if rate is None else rate
        if p > 0.0 and self.rng.random() < p:
            self.applied[system, kind] += 1
            return True
        return False

    # -- field noise: each returns the (possibly) altered value and appends the kind ------

    def name(self, system: str, name: str, applied: list[str]) -> str:
        rng = self.rng
        positions = [
            i
            for i, ch in enumerate(name)
            if (vocab.SURNAME_HOMOPHONES if i == 0 else vocab.HOMOPHONES).get(ch)
        ]
        if positions and self.roll(system, "homophone_name"):
            i = rng.choice(positions)
            table = vocab.SURNAME_HOMOPHONES if i == 0 else vocab.HOMOPHONES
            applied.append("homophone_name")
            return name[:i] + rng.choice(table[name[i]]) + name[i + 1 :]
        if len(name) >= 2 and self.roll(system, "typo_name"):
            i = rng.randrange(1, len(name))
            replacement = name[i]
            while replacement == name[i]:
                replacement = rng.choice(vocab.TYPO_POOL)
            applied.append("typo_name")
            return name[:i] + replacement + name[i + 1 :]
        return name

    def id_number(self, system: str, id_number: str, applied: list[str]) -> str:
        """Blank, a single wrong digit (which always breaks the check digit), or reformatted."""
        rng = self.rng
        if self.roll(system, "missing_id"):
            applied.append("missing_id")
            return ""
        if self.roll(system, "wrong_id"):
            i = rng.randrange(17)
            digit = id_number[i]
            while digit == id_number[i]:
                digit = rng.choice("0123456789")
            applied.append("wrong_id")
            return id_number[:i] + digit + id_number[i + 1 :]
        if system in ("survey", "health") and self.roll(system, "id_format"):
            applied.append("id_format")
            if id_number.endswith("X") and rng.random() < 0.6:
                return id_number[:-1] + "x"
            # Full-width digits, as a Chinese input method types them.
            return "".join(chr(ord(c) + 0xFEE0) for c in id_number)
        return id_number

    def date(self, system: str, d: date, applied: list[str]) -> date:
        """Month and day swapped, where that still makes a (wrong) date."""
        if d.day <= 12 and d.day != d.month and self.roll(system, "swapped_date"):
            applied.append("swapped_date")
            return date(d.year, d.day, d.month)
        return d

    def address(self, system: str, current: str, stale: str, applied: list[str]) -> str:
        if stale and stale != current and self.roll(system, "stale_address"):
            applied.append("stale_address")
            return stale
        return current

    def flag(self, system: str, value: bool, applied: list[str]) -> bool:
        if self.roll(system, "stale_flag"):
            applied.append("stale_flag")
            return not value
        return value

    def counts(self) -> tuple[dict[str, dict[str, int]], dict[str, dict[str, int]]]:
        """(applied, eligible) as {system: {kind: n}}, every kind present, sorted."""
        systems = sorted({s for s, _ in self.eligible})
        applied = {s: {k: self.applied.get((s, k), 0) for k in NOISE_KINDS} for s in systems}
        eligible = {s: {k: self.eligible.get((s, k), 0) for k in NOISE_KINDS} for s in systems}
        return applied, eligible
