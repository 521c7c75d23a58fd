"""``python -m bot`` as a real process, failing at start-up the way the CLI
does: one line, exit 2 for a setting to fix, exit 1 when a service failed."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.core.conftest import closed_port, write
from tests.slack.test_main import run_bot
from tests.stubs.slack_api import BOT_TOKEN, SlackAPIStub
from tests.stubs.slack_payloads import SIGNING_SECRET


@pytest.mark.parametrize("platform", [[], ["discord"], ["auto"]], ids=["slack", "discord", "auto"])
def test_an_env_file_that_is_not_utf8_stops_start_up_with_one_line(tmp_path: Path, platform: list[str]) -> None:
    write(tmp_path / ".env", b"SLACK_BOT_TOKEN=xoxb-1\nFAQ_HANDOFF_TEXT=\xff\n")
    result = run_bot(tmp_path, *platform)
    assert result.returncode == 2, result.stderr
    assert result.stderr.splitlines() == [
        f"faq-bot: {tmp_path / '.env'} is not UTF-8 text: byte 0xff at offset 40 (line 2) cannot be decoded; "
        "save the file as UTF-8"]


def test_a_database_server_that_is_down_stops_start_up_as_a_failed_service(
    tmp_path: Path, slack_api: SlackAPIStub
) -> None:
    pytest.importorskip("psycopg", reason="PostgreSQL URLs need the postgres extra")
    port = closed_port()
    result = run_bot(tmp_path, "--http", SLACK_BOT_TOKEN=BOT_TOKEN, SLACK_SIGNING_SECRET=SIGNING_SECRET,
                     SLACK_API_URL=slack_api.base_url, DATABASE_URL=f"postgresql://postgres@127.0.0.1:{port}/test")
    assert result.returncode == 1, result.stderr
    last = result.stderr.splitlines()[-1]
    assert last.startswith(f"faq-bot: the database at postgresql+psycopg://postgres@127.0.0.1:{port}/test "
                           "(DATABASE_URL) cannot be reached: ") and "Connection refused" in last
    assert "Traceback" not in result.stderr


def test_an_index_that_is_not_there_stops_start_up_as_a_setting_to_fix(
    tmp_path: Path, slack_api: SlackAPIStub
) -> None:
    result = run_bot(tmp_path, "--http", SLACK_BOT_TOKEN=BOT_TOKEN, SLACK_SIGNING_SECRET=SIGNING_SECRET,
                     SLACK_API_URL=slack_api.base_url, FAQ_INDEX="./my-index")
    assert result.returncode == 2, result.stderr
    assert result.stderr.splitlines()[-1] == ("faq-bot: no such folder './my-index', and not a Hub dataset id "
                                              "(user/name)")
