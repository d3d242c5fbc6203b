"""The screening configuration (protection/screening_rules.toml), read once and checked.

Thresholds and rule weights are a county's policy choice, not code: they live in the TOML
file, and a bad file is refused at load with the offending key named rather than producing
worklists nobody can explain.
"""

from __future__ import annotations

import functools
import os
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kernel.messages import say, toml_problem

DEFAULT_PATH = Path(__file__).with_name("screening_rules.toml")
RULE_NAMES: tuple[str, ...] = (
    "living_alone",
    "guardian_very_old",
    "guardian_ill",
    "guardian_without_capacity",
    "guardian_many_children",
    "dropout",
    "repeated_truancy",
    "injury",
    "no_recent_visit",
    "priority_poor",
    "priority_disabled",
    "priority_girl",
    "priority_withdrawn",
    "priority_behaviour",
)
LEVELS: tuple[str, ...] = ("village", "township", "county")


class ConfigError(ValueError):
    """The screening configuration is invalid; the message names the key."""


@dataclass(frozen=True)
class Rule:
    name: str
    zh: str
    weight: int
    applies_to: str  # "all" | "concern"
    enabled: bool


@dataclass(frozen=True)
class ScreeningConfig:
    raw: dict[str, Any]
    rules: dict[str, Rule]

    def section(self, name: str) -> dict[str, Any]:
        return self.raw[name]

    @property
    def findings(self) -> dict[str, str]:
        return self.raw["visits"]["findings"]

    @property
    def arrangements(self) -> dict[str, str]:
        return self.raw["visits"]["living_arrangements"]


def _need(table: dict[str, Any], key: str, kind: type | tuple[type, ...], where: str) -> Any:
    if key not in table:
        raise ConfigError(f"{where}.{key} is missing")
    value = table[key]
    if not isinstance(value, kind) or (isinstance(value, bool) and kind is int):
        raise ConfigError(f"{where}.{key} has the wrong type")
    return value


def parse(raw: dict[str, Any]) -> ScreeningConfig:
    for section in ("classification", "screening", "rules", "visits", "reporting"):
        _need(raw, section, dict, "<file>")
    c = raw["classification"]
    for key in ("left_behind_age_limit", "distress_age_limit"):
        _need(c, key, int, "classification")
    for key in ("serious_illness_icd10", "no_disability", "poor_family_markers", "missing_markers"):
        _need(c, key, list, "classification")
    s = raw["screening"]
    for key in (
        "guardian_old_age",
        "many_children_k",
        "truancy_repeats",
        "truancy_window_days",
        "injury_window_days",
        "visit_period_days",
    ):
        if _need(s, key, int, "screening") < 1:
            raise ConfigError(f"screening.{key} must be at least 1")
    _need(s, "injury_icd10", list, "screening")
    rules: dict[str, Rule] = {}
    unknown = set(raw["rules"]) - set(RULE_NAMES)
    if unknown:
        raise ConfigError(f"rules.{sorted(unknown)[0]} is not a known rule ({', '.join(RULE_NAMES)})")
    for name in RULE_NAMES:
        table = _need(raw["rules"], name, dict, "rules")
        applies = _need(table, "applies_to", str, f"rules.{name}")
        if applies not in ("all", "concern"):
            raise ConfigError(f"rules.{name}.applies_to must be 'all' or 'concern'")
        rules[name] = Rule(
            name,
            _need(table, "zh", str, f"rules.{name}"),
            _need(table, "weight", int, f"rules.{name}"),
            applies,
            bool(table.get("enabled", True)),
        )
    v = raw["visits"]
    _need(v, "regular_every_days", int, "visits")
    for key in ("winter_holiday", "summer_holiday", "findings", "living_arrangements"):
        _need(v, key, dict, "visits")
    r = raw["reporting"]
    for key in ("quarterly_days", "annual_deadline"):
        table = _need(r, key, dict, "reporting")
        missing = [lv for lv in LEVELS if lv not in table]
        if missing:
            raise ConfigError(f"reporting.{key}.{missing[0]} is missing")
    return ScreeningConfig(raw, rules)


def load(path: Path | None = None) -> ScreeningConfig:
    path = path or Path(os.environ.get("SHOUHU_SCREENING_RULES") or DEFAULT_PATH)
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(say("screening.rules_unreadable", path=path, problem=exc.strerror or exc)) from exc
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(say("screening.rules_unreadable", path=path, problem=toml_problem(exc))) from exc
    return parse(raw)


@functools.cache
def config() -> ScreeningConfig:
    """The configuration of this process (the default file, or SHOUHU_SCREENING_RULES)."""
    return load()
