"""`python -m auth.policy` speaks the operator's language: Chinese unless SHOUHU_LANGUAGE=en, for
its help and for the line that says a policy file passed the check. Before, both were English
whatever the setting (`…: ok, version …`, `validate a policy file against graph/model.py`).

Run as a subprocess, as an operator runs it, with SHOUHU_LANGUAGE unset and set to `en`.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from auth.policy import DEFAULT_PATH, default_policy

ROOT = Path(__file__).resolve().parents[1]


def _run(*args: str, language: str | None) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "SHOUHU_LANGUAGE"}
    if language:
        env["SHOUHU_LANGUAGE"] = language
    return subprocess.run(
        [sys.executable, "-m", "auth.policy", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )


def _ascii_words(text: str) -> list[str]:
    """English words in `text`, leaving out the program's name, the file, codes and placeholders."""
    text = text.replace("python -m auth.policy", "").replace(str(DEFAULT_PATH), "")
    text = re.sub(r"graph/model\.py|Markdown|\{[a-z,]+\}|FILE|file|-h|--help|table|check", "", text)
    return re.findall(r"[A-Za-z]{3,}", text)


def test_check_says_ok_in_chinese_unless_english() -> None:
    policy = default_policy()
    zh = _run("check", str(DEFAULT_PATH), language=None)
    assert zh.returncode == 0, zh.stderr
    line = zh.stdout.strip()
    assert "检查通过" in line and f"版本 {policy.version}" in line, line
    assert _ascii_words(line) == [], line
    en = _run("check", str(DEFAULT_PATH), language="en")
    assert en.returncode == 0, en.stderr
    assert f"ok, version {policy.version}" in en.stdout, en.stdout


@pytest.mark.parametrize("args", [["--help"], ["check", "--help"], ["table", "--help"]])
def test_help_is_chinese_unless_english(args: list[str]) -> None:
    zh = _run(*args, language=None)
    assert zh.returncode == 0, zh.stderr
    assert re.search(r"[\u4e00-\u9fff]", zh.stdout), zh.stdout
    assert _ascii_words(zh.stdout) == [], zh.stdout
    en = _run(*args, language="en")
    assert en.returncode == 0, en.stderr
    assert "usage:" in en.stdout and "show this help message and exit" in en.stdout, en.stdout
    assert not re.search(r"[\u4e00-\u9fff]", en.stdout), en.stdout
