"""A setting that does not parse stops every command in one line naming the variable and the rule, in
the catalogue's language, with exit code 2: it printed pydantic's English traceback (the CLI reads
the settings as it starts, to localise its help). The value itself is never echoed: it may be a key."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from tests.test_connectors_cli import SHOUHU, _env


def _run(tmp_path: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*SHOUHU, *args], env={**_env(tmp_path / "data"), **env}, capture_output=True, text=True, timeout=120
    )


@pytest.mark.parametrize(
    ("env", "zh", "en"),
    [
        (
            {"SHOUHU_WEBHOOK_TIMEOUT_SECONDS": "-1"},
            "SHOUHU_WEBHOOK_TIMEOUT_SECONDS：应大于 0",
            "must be greater than 0",
        ),
        (
            {"SHOUHU_GRAPH_BUFFER_POOL_MB": "abc-secretish"},
            "SHOUHU_GRAPH_BUFFER_POOL_MB：应为整数",
            "must be a whole number",
        ),
        (
            {"SHOUHU_WEBHOOK_ALLOWED_NETWORKS": '["abc-secretish"'},
            "SHOUHU_WEBHOOK_ALLOWED_NETWORKS：应为 JSON",
            "SHOUHU_WEBHOOK_ALLOWED_NETWORKS must be JSON",
        ),
        (
            {"SHOUHU_WEBHOOK_LEASE_SECONDS": "4", "SHOUHU_WEBHOOK_TIMEOUT_SECONDS": "5"},
            "SHOUHU_WEBHOOK_LEASE_SECONDS：应长于 SHOUHU_WEBHOOK_TIMEOUT_SECONDS",
            "must be longer than SHOUHU_WEBHOOK_TIMEOUT_SECONDS",
        ),
    ],
)
def test_a_setting_that_does_not_parse_is_one_line_in_the_callers_language(
    tmp_path: Path, env: dict[str, str], zh: str, en: str
) -> None:
    for language, expected in (("zh-CN", zh), ("en", en)):
        out = _run(tmp_path, "graph", "stats", **env, SHOUHU_LANGUAGE=language)
        assert out.returncode == 2, out.stderr[-2000:]
        assert "Traceback" not in out.stderr and "pydantic" not in out.stderr, out.stderr[-2000:]
        lines = [line for line in out.stderr.splitlines() if line.strip()]
        assert len(lines) == 1, out.stderr
        assert expected in lines[0] and "0.0" not in lines[0], lines[0]
        assert "abc-secretish" not in out.stderr + out.stdout  # the value is never shown
        if language == "zh-CN":
            assert lines[0].startswith("错误"), lines[0]
