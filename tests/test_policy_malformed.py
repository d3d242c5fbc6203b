"""A malformed policy file is refused with a `PolicyError` naming the key to fix, whatever shape the
mistake takes: never a `TypeError` or `ValueError` from inside the loader, so that
`python -m auth.policy check` and the server's start-up tell the operator where the file is wrong.

The broken copies are made as an operator would make them: every key path of the shipped
policy's parsed TOML has its value replaced by a value of another type (a list or a table where a
name belongs, a number, a boolean, an empty string), and the copy is written out as TOML text.
Every key path is tried with the kinds that broke the loader most (a list and a table: unhashable
where a class, decision or mask name is looked up) and with one more kind in turn; a sample of the
copies is written to files and loaded as files, and one is checked through the command line.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tomllib
from collections.abc import Callable, Iterator
from functools import partial
from pathlib import Path
from typing import Any

import pytest

from auth.policy import DEFAULT_PATH, Policy, PolicyError

ROOT = Path(__file__).resolve().parents[1]

# A list and a table: where a name is expected they are unhashable, so looking them up raised
# TypeError; where a table is expected a list was turned into a dict before it was checked.
WORST = (["bogus"], {"x": 1})
# One more kind for every key path, in turn.
OTHER = (12345, True, "", [], {}, [1], "bogus")

_BARE = re.compile(r"^[A-Za-z0-9_-]+$")


def _key(key: str) -> str:
    return key if _BARE.match(key) else json.dumps(key, ensure_ascii=False)


def _value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)  # JSON's escapes are TOML basic-string escapes
    if isinstance(value, list):
        return "[" + ", ".join(_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{_key(k)} = {_value(v)}" for k, v in value.items()) + "}"
    raise TypeError(f"no TOML for {type(value).__name__}")


def toml_text(data: dict[str, Any]) -> str:
    """The parsed policy written back as TOML (no TOML writer is installed): a table's own values,
    then each non-empty sub-table under its own header; an empty table inline."""
    lines: list[str] = []

    def table(node: dict[str, Any], path: tuple[str, ...]) -> None:
        subs = [(k, v) for k, v in node.items() if isinstance(v, dict) and v]
        lines.extend(f"{_key(k)} = {_value(v)}" for k, v in node.items() if not (isinstance(v, dict) and v))
        for k, v in subs:
            lines.append("\n[" + ".".join(_key(p) for p in (*path, k)) + "]")
            table(v, (*path, k))

    table(data, ())
    return "\n".join(lines) + "\n"


def key_paths(node: dict[str, Any], path: tuple[str, ...] = ()) -> Iterator[tuple[str, ...]]:
    for k, v in node.items():
        yield (*path, k)
        if isinstance(v, dict):
            yield from key_paths(v, (*path, k))


def mutations(data: dict[str, Any]) -> Iterator[tuple[tuple[str, ...], Any]]:
    """Every key path with each of WORST and one of OTHER, chosen by its position (deterministic)."""
    for i, path in enumerate(key_paths(data)):
        for value in (*WORST, OTHER[i % len(OTHER)]):
            yield path, value


def replaced(data: dict[str, Any], path: tuple[str, ...], value: Any) -> dict[str, Any]:
    """A copy of ``data`` with the value at ``path`` replaced (only the tables on the path copied)."""
    top = dict(data)
    node = top
    for k in path[:-1]:
        node[k] = dict(node[k])
        node = node[k]
    node[path[-1]] = value
    return top


def problem(load: Callable[[], object], path: tuple[str, ...], original: Any, value: Any) -> str | None:
    """None if the copy loads, or is refused with a PolicyError naming the key path (or a key under
    it); else what went wrong. A value of the original's own type may be refused at the key it
    breaks elsewhere (an empty table of classes leaves properties unclassified)."""
    dotted = ".".join(path)
    try:
        load()
    except PolicyError as exc:
        key = exc.key or ""
        if key and key not in str(exc):
            return f"{dotted} = {value!r}: the key {key} is not written in the message: {exc}"
        if key == dotted or key.startswith(dotted + ".") or type(value) is type(original):
            return None
        return f"{dotted} = {value!r}: PolicyError not naming the key: {exc}"
    except Exception as exc:  # the point: nothing but PolicyError may escape
        return f"{dotted} = {value!r}: {type(exc).__name__}: {exc}"
    return None


@pytest.fixture(scope="module")
def raw() -> dict[str, Any]:
    return tomllib.loads(DEFAULT_PATH.read_text(encoding="utf-8"))


def _at(data: dict[str, Any], path: tuple[str, ...]) -> Any:
    node: Any = data
    for k in path:
        node = node[k]
    return node


def test_the_writer_gives_back_the_shipped_policy(raw: dict[str, Any]) -> None:
    text = toml_text(raw)
    assert tomllib.loads(text) == raw
    assert Policy.loads(text).table_markdown() == Policy.load().table_markdown()


def test_every_key_path_of_a_wrong_type_is_refused_naming_it(raw: dict[str, Any]) -> None:
    paths = list(key_paths(raw))
    assert len(paths) > 1500  # every class, property, field, rule, role … of the shipped file
    problems: list[str] = []
    tried = 0
    for path, value in mutations(raw):
        tried += 1
        broken = replaced(raw, path, value)
        found = problem(partial(Policy.from_mapping, broken, source="p.toml"), path, _at(raw, path), value)
        if found:
            problems.append(found)
    assert tried == 3 * len(paths)
    assert not problems, f"{len(problems)} of {tried} broken copies:\n" + "\n".join(problems[:25])


def _file_sample(raw: dict[str, Any]) -> list[tuple[tuple[str, ...], Any]]:
    """Every top-level key and every table under one with each of the seven kinds, and one
    property, field and mask of each (the first), as written files."""
    sample: list[tuple[tuple[str, ...], Any]] = []
    for top, node in raw.items():
        sample += [((top,), v) for v in (*WORST, *OTHER)]
        if isinstance(node, dict):
            for sub, child in list(node.items())[:3]:
                sample += [((top, sub), v) for v in WORST]
                if isinstance(child, dict) and child:
                    sample += [((top, sub, next(iter(child))), v) for v in (*WORST, 12345)]
    return sample


def test_broken_files_are_refused_naming_the_key(raw: dict[str, Any], tmp_path: Path) -> None:
    problems = []
    sample = _file_sample(raw)
    for n, (path, value) in enumerate(sample):
        file = tmp_path / f"broken-{n}.toml"
        file.write_text(toml_text(replaced(raw, path, value)), encoding="utf-8")
        found = problem(partial(Policy.load, file), path, _at(raw, path), value)
        if found:
            problems.append(found)
    assert len(sample) > 150
    assert not problems, "\n".join(problems[:25])


def _check(file: Path, language: str | None) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "SHOUHU_LANGUAGE"}
    if language:
        env["SHOUHU_LANGUAGE"] = language
    return subprocess.run(
        [sys.executable, "-m", "auth.policy", "check", str(file)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )


def test_check_names_the_key_in_chinese_first_without_a_traceback(
    raw: dict[str, Any], tmp_path: Path
) -> None:
    file = tmp_path / "policy.toml"
    # A list where a sensitivity class is named, and masks that are not a table.
    broken = replaced(raw, ("sensitivity", "Person", "name"), ["identity"])
    file.write_text(toml_text(broken), encoding="utf-8")
    run = _check(file, None)
    assert run.returncode == 2, run.stderr
    assert "Traceback" not in run.stderr
    expected = "错误：策略文件 {} 中 sensitivity.Person.name：应为敏感级别的名称（字符串），实际是数组\n"
    assert run.stderr == expected.format(file), run.stderr
    assert run.stdout == ""

    file.write_text(toml_text(replaced(raw, ("masks",), 12345)), encoding="utf-8")
    expected_in = {
        None: f"错误：策略文件 {file} 中 masks：应为表（table），实际是整数\n",
        "en": f"error: {file}: masks: expected a table, got int\n",
    }
    for language, line in expected_in.items():
        run = _check(file, language)
        assert run.returncode == 2, run.stderr
        assert "Traceback" not in run.stderr
        assert run.stderr == line, run.stderr


def test_the_service_refuses_a_broken_policy_in_chinese(raw: dict[str, Any], tmp_path: Path) -> None:
    """``shouhu serve`` loads the policy first and refuses a broken file in one line: the key path
    as written, what is wrong in the catalogue's Chinese (it was English after 错误：)."""
    file = tmp_path / "policy.toml"
    file.write_text(toml_text(replaced(raw, ("break_glass", "max_duration_minutes"), 0)), encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if not k.startswith("SHOUHU_")}
    env |= {"SHOUHU_POLICY_FILE": str(file), "SHOUHU_DATA_DIR": str(tmp_path / "data")}
    run = subprocess.run(
        [sys.executable, "-m", "shouhu.cli", "serve"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert run.returncode == 2, run.stderr
    assert "Traceback" not in run.stderr
    expected = f"错误：策略文件 {file} 中 break_glass.max_duration_minutes：应为 1 到 1440 之间的分钟数"
    assert " ".join(run.stderr.split()) == expected, run.stderr


def test_check_says_where_a_file_is_not_toml_in_the_operators_language(tmp_path: Path) -> None:
    """A policy file that is not TOML: tomllib's English ("Expected ']' at the end of a table
    declaration") was printed after 错误：; now the catalogue says where, in either language."""
    file = tmp_path / "policy.toml"
    file.write_text('version = "2026-11-25.1"\n[classes\n', encoding="utf-8")
    expected = {
        None: f"错误：策略文件 {file} 不是有效的 TOML：第 2 行第 9 列附近格式有误\n",
        "en": f"error: {file}: not valid TOML near line 2, column 9\n",
    }
    for language, line in expected.items():
        run = _check(file, language)
        assert run.returncode == 2, run.stderr
        assert run.stderr == line, run.stderr
