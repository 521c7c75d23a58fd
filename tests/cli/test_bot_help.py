"""``python -m bot --help`` names every platform, and each platform's
``--help`` prints its options and exits 0 without reading a setting or a
token: help must work on a fresh clone with no ``.env``."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.slack.test_main import run_bot


@pytest.mark.parametrize("flag", ["--help", "-h"])
def test_the_bots_help_lists_every_platform(tmp_path: Path, flag: str) -> None:
    result = run_bot(tmp_path, flag)
    assert result.returncode == 0 and result.stderr == ""
    assert result.stdout.startswith("usage: python -m bot [PLATFORM] [options]")
    for platform in ("slack", "discord", "auto"):
        assert f"\n  {platform} " in result.stdout
    assert "python -m bot PLATFORM --help" in result.stdout


@pytest.mark.parametrize(("args", "usage"), [
    (["slack", "--help"], "usage: python -m bot [slack]"),
    (["discord", "--help"], "usage: python -m bot discord"),
    (["auto", "--help"], "usage: python -m bot auto"),
])
def test_each_platforms_help_prints_without_tokens(tmp_path: Path, args: list[str], usage: str) -> None:
    # a malformed setting would stop any start-up: help never gets that far
    result = run_bot(tmp_path, *args, DISCORD_BOT_TOKEN="", LOG_LEVEL="LOUD")
    assert result.returncode == 0 and result.stderr == "", result.stderr
    assert result.stdout.startswith(usage)
    assert "TOKEN is not set" not in result.stdout


def test_auto_refuses_options_it_would_ignore(tmp_path: Path) -> None:
    result = run_bot(tmp_path, "auto", "--http")
    assert result.returncode == 2 and "unrecognized arguments: --http" in result.stderr
    assert "Traceback" not in result.stderr
