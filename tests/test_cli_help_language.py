"""The CLI's help speaks the operator's language: Chinese unless ``SHOUHU_LANGUAGE=en``.

A county operator types ``shouhu --help``, ``shouhu sync --help`` or a wrong option and reads the
screen typer prints: the commands' and options' help from the catalogue (kernel/messages.py,
``cli.help.*``) and typer's own words around them (``Usage:``, the section titles, ``[default: …]``,
the help option, the usage error) from it too. The real CLI runs as a subprocess, as an operator runs it.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

# typer's English words that must not be on a Chinese screen
TYPER_ENGLISH = ("Usage:", "Options", "Commands", "Arguments", "Show this message and exit", "[default:")


def run(
    module: str, *args: str, tmp_path: Path, language: str | None = None, columns: int = 200
) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SHOUHU_")}
    env.update({"SHOUHU_DATA_DIR": str(tmp_path / "data"), "COLUMNS": str(columns), "NO_COLOR": "1"})
    if language:
        env["SHOUHU_LANGUAGE"] = language
    return subprocess.run(
        [sys.executable, "-m", module, *args], env=env, capture_output=True, text=True, timeout=120, cwd=ROOT
    )


def shouhu(
    *args: str, tmp_path: Path, language: str | None = None, columns: int = 200
) -> subprocess.CompletedProcess[str]:
    return run("shouhu.cli", *args, tmp_path=tmp_path, language=language, columns=columns)


def _no_typer_english(text: str) -> None:
    found = [word for word in TYPER_ENGLISH if word in text]
    assert not found, f"English on a Chinese help screen: {found}\n{text}"


def test_the_top_level_help_is_chinese(tmp_path: Path) -> None:
    out = shouhu("--help", tmp_path=tmp_path)
    assert out.returncode == 0, out.stderr
    for words in (
        "用法：",
        "守护：儿童保护数据平台",
        "选项",
        "命令",
        "显示本帮助并退出",
        "儿童、家庭与个案的关联图",
    ):
        assert words in out.stdout, (words, out.stdout)
    _no_typer_english(out.stdout)


def test_a_command_s_help_is_chinese(tmp_path: Path) -> None:
    out = shouhu("sync", "--help", tmp_path=tmp_path)
    assert out.returncode == 0, out.stderr
    for words in (
        "接收、校验、匹配来源记录并写入图",
        "本命令让服务开始同步",  # the docstring's second paragraph, in Chinese too
        "参数",
        "要同步的来源",
        "每批写入图的记录数",
        "[默认：20000]",
    ):
        assert words in out.stdout, (words, out.stdout)
    _no_typer_english(out.stdout)
    assert "Land, validate" not in out.stdout


def test_demo_generate_help_is_chinese_and_has_the_noise_scale(tmp_path: Path) -> None:
    out = shouhu("demo", "generate", "--help", tmp_path=tmp_path)
    assert out.returncode == 0, out.stderr
    for words in (
        "按各来源系统自己的格式写出一个合成县",
        "--noise-scale",
        "把各项默认噪声比例",
        "[默认：1.0]",
    ):
        assert words in out.stdout, (words, out.stdout)
    _no_typer_english(out.stdout)


def test_a_long_chinese_help_line_is_folded_not_cut(tmp_path: Path) -> None:
    """Chinese has no spaces to wrap at: on an 80-column terminal typer cut such a line with "…"."""
    out = shouhu("demo", "generate", "--help", tmp_path=tmp_path, columns=80)
    assert "…" not in out.stdout, out.stdout
    assert "比例最高为" in out.stdout.replace(" ", "").replace("│", "").replace("\n", ""), out.stdout


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (("sync", "--no-such-flag"), "没有选项 --no-such-flag"),
        (("snyc",), "没有命令 'snyc'。是否要用 'sync'？"),
        (("quarantine", "show"), "缺少参数 'seq'。"),
    ],
)
def test_a_usage_error_is_chinese(tmp_path: Path, args: tuple[str, ...], expected: str) -> None:
    out = shouhu(*args, tmp_path=tmp_path)
    assert out.returncode == 2
    assert expected in out.stderr, out.stderr
    assert "用法：" in out.stderr and "查看帮助" in out.stderr and "错误" in out.stderr, out.stderr
    for english in ("Usage:", "No such", "Missing", "Try ", "Error"):
        assert english not in out.stderr, (english, out.stderr)


def test_help_and_usage_errors_are_english_when_switched(tmp_path: Path) -> None:
    top = shouhu("--help", tmp_path=tmp_path, language="en")
    assert "Usage:" in top.stdout and "Options" in top.stdout and "Commands" in top.stdout
    assert "The linked graph of children, families and cases." in top.stdout
    assert "Show this message and exit." in top.stdout and "用法" not in top.stdout
    sync = shouhu("sync", "--help", tmp_path=tmp_path, language="en")
    assert "Land, validate, resolve and load source records into the graph" in sync.stdout
    assert "[default: 20000]" in sync.stdout and "Arguments" in sync.stdout
    generate = shouhu("demo", "generate", "--help", tmp_path=tmp_path, language="en")
    assert "Multiply every default noise rate" in generate.stdout
    assert not any("\u4e00" <= c <= "\u9fff" for c in generate.stdout), generate.stdout
    wrong = shouhu("sync", "--no-such-flag", tmp_path=tmp_path, language="en")
    assert wrong.returncode == 2
    assert "No such option: --no-such-flag" in wrong.stderr and "Usage:" in wrong.stderr
    assert "Try " in wrong.stderr and "for help." in wrong.stderr
    typo = shouhu("snyc", tmp_path=tmp_path, language="en")
    assert "No such command 'snyc'. Did you mean 'sync'?" in typo.stderr


@pytest.mark.parametrize(
    ("language", "expected", "absent"),
    [
        (
            None,
            ("用法：", "关系库迁移（Alembic）", "命令", "选项", "显示本帮助并退出", "升级到某版本"),
            "usage:",
        ),
        (
            "en",
            ("usage: ", "Alembic commands", "show this help message and exit", "upgrade to a revision"),
            "用法",
        ),
    ],
)
def test_the_migrations_tool_s_help_speaks_the_language(
    tmp_path: Path, language: str | None, expected: tuple[str, ...], absent: str
) -> None:
    out = run("shouhu.migrations", "--help", tmp_path=tmp_path, language=language)
    assert out.returncode == 0, out.stderr
    for words in expected:
        assert words in out.stdout, (words, out.stdout)
    assert absent not in out.stdout
    upgrade = run("shouhu.migrations", "upgrade", "--help", tmp_path=tmp_path, language=language)
    assert ("SQLAlchemy 连接 URL" in upgrade.stdout) is (language is None), upgrade.stdout


def test_demo_generate_noise_scale_reaches_the_generator(tmp_path: Path) -> None:
    """`--noise-scale` (once `python -m connectors.synthetic`'s) scales every noise rate: 0 is clean."""
    args = ("demo", "generate", "--persons", "300", "--seed", "3")
    clean = shouhu(*args, "--out", str(tmp_path / "clean"), "--noise-scale", "0", tmp_path=tmp_path)
    noisy = shouhu(*args, "--out", str(tmp_path / "noisy"), tmp_path=tmp_path)
    assert clean.returncode == 0 and noisy.returncode == 0, clean.stderr + noisy.stderr
    assert "Injected noise: none." in clean.stdout
    assert "Injected noise: none." not in noisy.stdout
