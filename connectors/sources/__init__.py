"""The source connectors, one module per source system, and where each one reads from.

=================  ==========================================  =====================
source             what                                        module
=================  ==========================================  =====================
police_hukou       household register (户籍), CSV GB18030       police.HukouSource
police_incident    child-related incidents (警情), CSV          police.IncidentSource
education          student registry CSV/XLSX, attendance,      education.EducationSource
                   dropouts
health             FHIR R4 Bundles, or a FHIR server (REST)    health.HealthSource /
                                                               health.FhirRestSource
survey             village screening forms, JSON/XLSX          survey.SurveySource
=================  ==========================================  =====================

Where they read from is configured in a TOML file, ``$SHOUHU_CONNECTORS_FILE`` or
``<data_dir>/connectors.toml``; ``shouhu sync --from DIR`` instead takes a county export
laid out as ``DIR/{reference,police,education,health,survey}``::

    export_dir = "/srv/exports/500248"       # optional: the layout above
    reference = "/srv/exports/500248/reference"

    [sources.health]
    url = "http://127.0.0.1:8080/fhir"      # a FHIR server instead of Bundle files
    page_size = 500                         # _count per search page
    every = "15m"                           # periodic sync (shouhu sync --watch)

    [sources.survey]
    path = "/srv/survey-uploads"
    every = "1h"

    [sources.police_incident]
    enabled = false
"""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

from connectors.sources.base import Source
from connectors.sources.education import EducationSource
from connectors.sources.health import FhirRestSource, HealthSource
from connectors.sources.police import HukouSource, IncidentSource
from connectors.sources.survey import SurveySource
from kernel.messages import say, toml_problem

__all__ = [
    "DEFAULT_DIRS",
    "SOURCE_NAMES",
    "ConfigError",
    "ConnectorsConfig",
    "SourceConfig",
    "load_config",
    "make_source",
    "parse_interval",
]

# Processing order: the register first (the identity system of record), incidents last
# (they mostly concern children the other sources already named).
SOURCE_NAMES: tuple[str, ...] = ("police_hukou", "education", "health", "survey", "police_incident")
# The folder of an export directory each source reads (`shouhu sync --from DIR`, the evaluator).
DEFAULT_DIRS: dict[str, str] = {
    "police_hukou": "police",
    "police_incident": "police",
    "education": "education",
    "health": "health",
    "survey": "survey",
}
DEFAULT_EVERY = timedelta(hours=1)


class ConfigError(ValueError):
    """The connectors' configuration cannot be used; the message says what to fix."""


@dataclass
class SourceConfig:
    name: str
    path: Path | None = None
    url: str | None = None
    every: timedelta = DEFAULT_EVERY
    enabled: bool = True
    page_size: int = 500  # FHIR REST: _count per page

    @property
    def configured(self) -> bool:
        return self.enabled and (self.url is not None or self.path is not None)

    def where(self) -> str:
        return self.url or (str(self.path) if self.path else "(not configured)")


@dataclass
class ConnectorsConfig:
    reference: Path | None = None
    sources: dict[str, SourceConfig] = field(default_factory=dict)
    file: Path | None = None


_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_interval(text: str | int | float) -> timedelta:
    """``30s``, ``15m``, ``1h``, ``1d`` or a number of seconds."""
    if isinstance(text, int | float):
        return timedelta(seconds=float(text))
    m = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([smhd]?)\s*", str(text))
    if not m:
        raise ConfigError(say("config.interval", value=repr(text)))
    return timedelta(seconds=float(m[1]) * _UNITS[m[2] or "s"])


def load_config(data_dir: Path, export_dir: Path | None = None) -> ConnectorsConfig:
    """The configuration: the TOML file if any, then ``export_dir`` (the CLI's ``--from``) on top."""
    env = os.environ.get("SHOUHU_CONNECTORS_FILE")
    path = Path(env) if env else data_dir / "connectors.toml"
    raw: dict[str, Any] = {}
    if path.is_file():
        try:
            raw = tomllib.loads(path.read_text(encoding="utf-8"))
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise ConfigError(say("config.file_invalid", path=path, reason=toml_problem(exc))) from None
    elif env:
        raise ConfigError(say("config.file_missing", path=path))
    base = export_dir or (Path(raw["export_dir"]) if raw.get("export_dir") else None)
    cfg = ConnectorsConfig(file=path if path.is_file() else None)
    ref = raw.get("reference")
    cfg.reference = Path(ref) if ref else (base / "reference" if base else None)
    sources_raw = raw.get("sources", {})
    unknown = set(sources_raw) - set(SOURCE_NAMES)
    if unknown:
        raise ConfigError(
            say(
                "config.unknown_sources",
                path=path,
                unknown="、".join(sorted(unknown)),
                known="、".join(SOURCE_NAMES),
            )
        )
    for name in SOURCE_NAMES:
        s = sources_raw.get(name, {})
        sc = SourceConfig(name)
        if base is not None:
            sc.path = base / DEFAULT_DIRS[name]
        if s.get("path"):
            sc.path = Path(s["path"])
        if s.get("url"):
            if name != "health":
                raise ConfigError(say("config.url_only_health", source=name))
            sc.url = str(s["url"])
        if export_dir is not None:
            # --from names the files to read now: it wins over a configured server.
            sc.path, sc.url = export_dir / DEFAULT_DIRS[name], None
        if "every" in s:
            sc.every = parse_interval(s["every"])
        sc.enabled = bool(s.get("enabled", True))
        if "page_size" in s:
            sc.page_size = int(s["page_size"])
        cfg.sources[name] = sc
    return cfg


def make_source(sc: SourceConfig) -> Source:
    """The connector instance for one configured source."""
    if sc.url is not None:
        return FhirRestSource(sc.url, page_size=sc.page_size)
    if sc.path is None:
        raise ConfigError(say("config.no_path", source=sc.name))
    cls: Callable[[Path], Source] = {
        "police_hukou": HukouSource,
        "police_incident": IncidentSource,
        "education": EducationSource,
        "health": HealthSource,
        "survey": SurveySource,
    }[sc.name]
    return cls(sc.path)


def source_for_replay(name: str) -> Source:
    """A connector to interpret stored payloads when the source is no longer configured."""
    return make_source(SourceConfig(name, path=Path("/nonexistent")))
