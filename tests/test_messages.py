"""The message catalogue: Chinese first, English as a switch, and no sentence printed around it.

County officials read the CLI, the exported reports and the quarantine reasons; an English
sentence there is a sentence they cannot act on. These tests hold the catalogue complete and
walk the code for output that bypasses it.
"""

from __future__ import annotations

import ast
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from kernel.messages import MESSAGES, placeholders, say

ROOT = Path(__file__).resolve().parents[1]
# Two English words in a row: a sentence, not a code, a file name or an option like --as-of.
ENGLISH = re.compile(r"[A-Za-z]{3,} [A-Za-z]{2,} [A-Za-z]{2,}")
# Calls whose string arguments an operator reads.
OUTPUT_CALLS = {"echo", "print", "fail", "_fail", "ConfigError", "Rejected", "secho"}


def _python_files(*folders: str) -> list[Path]:
    return [p for f in folders for p in sorted((ROOT / f).rglob("*.py"))]


def test_every_entry_has_both_languages_with_the_same_placeholders() -> None:
    for key, (zh, en) in MESSAGES.items():
        assert zh and en, key
        assert placeholders(zh) == placeholders(en), key
        assert re.search(r"[\u4e00-\u9fff]", zh) or not re.search(
            r"[A-Za-z]{4,}", zh.replace("SHOUHU_", "")
        ), key


def test_every_key_the_code_uses_is_in_the_catalogue() -> None:
    used: set[str] = set()
    prefixes: set[str] = set()
    for path in _python_files("kernel", "graph", "auth", "connectors", "protection", "api", "shouhu"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "say" and node.args:
                arg = node.args[0]
                if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
                    used.add(arg.value)
                elif isinstance(arg, ast.JoinedStr) and isinstance(arg.values[0], ast.Constant):
                    prefixes.add(str(arg.values[0].value))
    assert used, "no say() calls found: the walk is broken"
    missing = sorted(k for k in used if k not in MESSAGES)
    assert not missing, missing
    for prefix in prefixes:
        assert any(k.startswith(prefix) for k in MESSAGES), prefix


def _english_literals(path: Path) -> list[str]:
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if not isinstance(node, ast.Call):
            continue
        name = getattr(node.func, "attr", None) or getattr(node.func, "id", None)
        if name not in OUTPUT_CALLS:
            continue
        for arg in node.args:
            parts = [arg] if isinstance(arg, ast.Constant) else list(getattr(arg, "values", []))
            text = "".join(p.value for p in parts if isinstance(p, ast.Constant) and isinstance(p.value, str))
            if ENGLISH.search(text):
                found.append(f"{path}:{node.lineno}: {text[:60]}")
    return found


def test_no_cli_command_or_connector_prints_an_english_sentence_around_the_catalogue() -> None:
    files = [*_python_files("shouhu/cli", "connectors/sources"), *(ROOT / "connectors").glob("[si]*.py")]
    found = [hit for path in files for hit in _english_literals(path)]
    assert not found, "\n".join(found)


def test_the_walk_finds_an_english_sentence_when_there_is_one(tmp_path: Path) -> None:
    probe = tmp_path / "probe.py"
    probe.write_text(
        'import typer\ntyper.echo(f"chain intact: {n} entries in the log")\ntyper.echo(say("audit.x"))\n',
        encoding="utf-8",
    )
    assert len(_english_literals(probe)) == 1


def _cli(*args: str, language: str | None = None) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SHOUHU_")}
    if language:
        env["SHOUHU_LANGUAGE"] = language
    return subprocess.run(
        [sys.executable, "-m", "shouhu.cli", *args], env=env, capture_output=True, text=True, timeout=60
    )


@pytest.mark.parametrize(
    ("language", "expected"),
    [(None, "不是日期（应为 YYYY-MM-DD）"), ("en", "is not a date (YYYY-MM-DD)")],
)
def test_the_cli_speaks_chinese_unless_switched_to_english(language: str | None, expected: str) -> None:
    out = _cli("crosscheck", "--as-of", "31.12.2026", language=language)
    assert out.returncode == 2
    assert expected in out.stderr and "Traceback" not in out.stderr
    assert ("错误" in out.stderr) is (language is None)


def test_every_command_group_and_option_has_its_help_from_the_catalogue() -> None:
    """Each command, group and option shows ``cli.help.<its path>`` (Chinese, or English when
    switched), and the catalogue holds no help for one that no longer exists."""
    from shouhu.cli import app
    from shouhu.cli.help import help_targets

    targets = list(help_targets(app))
    assert len(targets) > 60, "the walk of the CLI found too little"
    keys = {f"cli.help.{key}" for key, _ in targets}
    assert not sorted(k for k in keys if k not in MESSAGES), "commands or options without help"
    wrong = [key for key, target in targets if target.help != say(f"cli.help.{key}")]
    assert not wrong, f"help not from its catalogue entry: {wrong}"
    assert app.info.help == say("cli.help.shouhu")
    stale = {k for k in MESSAGES if k.startswith("cli.help.")} - keys - {"cli.help.shouhu"}
    assert not sorted(stale), "help for commands that no longer exist"


def test_help_is_chinese_by_default() -> None:
    annotated = _cli("audit", "export", "--help")  # options declared with Annotated[...]
    assert "此时间及之后的条目" in annotated.stdout, annotated.stdout
    out = _cli("graph", "verify", "--help")
    assert (
        out.returncode == 0
        and "将图与关系库中应有的内容核对" in out.stdout
        and "每个类别列出的差异条数" in out.stdout
    )


def test_every_person_attribute_has_its_name_for_the_cross_check() -> None:
    """The cross-check names the attributes the sources disagree on (CLI and console): a Person
    property without a catalogue name would reach an official as its code."""
    from graph.model import NODE_KINDS
    from kernel.messages import attribute_name

    person = NODE_KINDS["Person"]
    unnamed = [p for p in person.props if attribute_name(p) == p]
    assert not unnamed, unnamed
