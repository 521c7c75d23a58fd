"""``python -m bot discord`` as a real process: one line naming
DISCORD_BOT_TOKEN (exit 2) when it is missing, malformed or rejected by
Discord; a full start against the stand-in, ``/readyz`` and ``/metrics`` on
``METRICS_PORT``, a DM answered and counted, SIGTERM exit 0; a taken
``METRICS_PORT`` stops start-up with one line."""

from __future__ import annotations

import shutil
import socket
import time
from pathlib import Path

import pytest
import requests

from bot.cli.launcher import ops_ports
from bot.serving.replicas import replicas
from bot.store.database import Store
from faq_core.index import local_revision
from tests.ops.test_metrics import scrape, value
from tests.ops.test_process import OPS_LINE, intake_rows
from tests.slack.test_main import BotProcess, assert_start_up_log_is_for_an_operator, run_bot
from tests.stubs import discord_payloads as P
from tests.stubs.discord_standin import DiscordStandIn
from tests.stubs.inference import InferenceStub, Reply

MESSAGES = r"/channels/\d+/messages"


@pytest.mark.parametrize(
    ("env", "says"),
    [
        ({}, "DISCORD_BOT_TOKEN is not set"),
        ({"DISCORD_BOT_TOKEN": "Bot " + P.BOT_TOKEN}, "DISCORD_BOT_TOKEN does not look right: it starts with 'Bot '"),
        ({"DISCORD_BOT_TOKEN": "0123456789abcdef0123456789abcdef"},
         "DISCORD_BOT_TOKEN does not look right: a bot token has three parts"),
        ({"DISCORD_BOT_TOKEN": P.BOT_TOKEN, "DISCORD_GUILD_IDS": "general"}, "DISCORD_GUILD_IDS must be"),
        ({"DISCORD_BOT_TOKEN": P.BOT_TOKEN, "DISCORD_HANDOFF_CHANNEL": "#help-desk"},
         "DISCORD_HANDOFF_CHANNEL must be a Discord channel id"),
    ],
    ids=["missing", "with-bot-prefix", "client-secret", "bad-guild-ids", "bad-handoff-channel"],
)
def test_bad_settings_stop_start_up_with_one_line(tmp_path: Path, env: dict[str, str], says: str) -> None:
    done = run_bot(tmp_path, "discord", **env)
    assert done.returncode == 2
    [line] = done.stderr.strip().splitlines()
    assert line.startswith("faq-bot: ") and says in line
    assert P.BOT_TOKEN not in done.stderr


def test_a_token_discord_rejects_stops_start_up(tmp_path: Path) -> None:
    with DiscordStandIn(bot_token="MTAwMDAwMDAwMDAwMDAwMDAx.other.token-of-another-bot") as standin:
        done = run_bot(tmp_path, "discord", DISCORD_BOT_TOKEN=P.BOT_TOKEN, DISCORD_API_URL=standin.api.base_url)
    assert done.returncode == 2, done.stderr
    last = done.stderr.strip().splitlines()[-1]
    assert last.startswith("faq-bot: Discord rejected DISCORD_BOT_TOKEN (401 Unauthorized)")
    assert "Traceback" not in done.stderr and P.BOT_TOKEN not in done.stderr


def test_the_process_syncs_faq_answers_a_dm_and_stops_cleanly(tmp_path: Path,
                                                              revision_folders: dict[str, Path]) -> None:
    index = shutil.copytree(revision_folders["v1"], tmp_path / "index")
    with DiscordStandIn() as standin:
        bot = BotProcess(tmp_path, "discord", DISCORD_BOT_TOKEN=P.BOT_TOKEN, DISCORD_API_URL=standin.api.base_url,
                         DISCORD_GUILD_IDS=P.GUILD_ID, FAQ_INDEX=str(index), HUB_WEBHOOK_SECRET="a-secret-42")
        try:
            url = f"http://127.0.0.1:{int(bot.wait_line(OPS_LINE).group(1))}"
            standin.gateway.wait_identified(timeout=120)
            standin.gateway.wait_for(lambda: len(standin.gateway.sessions) == 1, what="a session")
            assert [c["name"] for c in standin.api.commands[P.GUILD_ID]] == ["faq", "faq-route"]  # synced there
            standin.api.wait_calls("GET", "/gateway/bot")
            deadline = time.monotonic() + 30
            while (ready := requests.get(url + "/readyz", timeout=10)).status_code != 200 \
                    and time.monotonic() < deadline:
                time.sleep(0.2)
            assert ready.status_code == 200, ready.text
            assert ready.json()["checks"]["discord"] == "ok" and "slack" not in ready.json()["checks"]
            standin.message(P.dm_message("how do I sign up for Medicare?"))
            [post] = standin.api.wait_calls("POST", MESSAGES, timeout=60)
            assert post.status == 200 and post.body["embeds"][0]["title"] == "How do I sign up for Medicare?"
            deadline = time.monotonic() + 30  # the row is counted once recorded done, just after the post
            while value(samples := scrape(url)[0], "faq_bot_reply_seconds_count", kind="discord.message") < 1 \
                    and time.monotonic() < deadline:
                time.sleep(0.2)
            assert value(samples, "faq_bot_reply_seconds_count", kind="discord.message") == 1
            assert value(samples, "faq_bot_questions_total", platform="discord", outcome="answered") == 1
            webhook = requests.post(url + "/hub/webhook", json={}, headers={"X-Webhook-Secret": "wrong"}, timeout=10)
            assert webhook.status_code == 401  # mounted on the ops port (HUB_WEBHOOK_SECRET), guarded
            store = Store(f"sqlite:///{tmp_path / 'bot.db'}")
            try:
                [replica] = replicas(store)  # it follows the folder, registered as a replica
                assert replica.revision == local_revision(index)
                assert bot.stop() == 0
                assert replicas(store) == []  # a clean stop leaves the table
            finally:
                store.close()
        finally:
            if bot.process.poll() is None:
                bot.process.kill()
                bot.process.wait()
    log = "".join(bot.lines)
    assert P.BOT_TOKEN not in log and "a-secret-42" not in log
    assert f"following the folder {index}" in log and "/hub/webhook" in log
    assert_start_up_log_is_for_an_operator(bot.lines)  # no voice warnings: the bot never joins voice


def test_a_taken_metrics_port_stops_start_up_with_one_line(tmp_path: Path) -> None:
    with socket.socket() as taken, DiscordStandIn() as standin:
        taken.bind(("0.0.0.0", 0))
        taken.listen()
        port = taken.getsockname()[1]
        done = run_bot(tmp_path, "discord", DISCORD_BOT_TOKEN=P.BOT_TOKEN, DISCORD_API_URL=standin.api.base_url,
                       METRICS_PORT=str(port))
        assert not standin.gateway.sessions  # it stopped before connecting
    assert done.returncode == 1, done.stderr
    assert done.stderr.splitlines()[-1] == f"faq-bot: cannot listen on METRICS_PORT={port}: Address already in use"
    assert "Traceback" not in done.stderr


def test_auto_starts_the_platforms_whose_tokens_are_set(tmp_path: Path) -> None:
    done = run_bot(tmp_path, "auto")
    assert done.returncode == 2 and "neither SLACK_BOT_TOKEN nor DISCORD_BOT_TOKEN is set" in done.stderr
    # Discord's token alone: only Discord starts (and here stops at once, naming its malformed token)
    done = run_bot(tmp_path, "auto", DISCORD_BOT_TOKEN="not-a-token")
    assert done.returncode == 2
    assert "DISCORD_BOT_TOKEN does not look right" in done.stderr and "SLACK_BOT_TOKEN" not in done.stderr


def test_forums_without_the_message_content_intent_stop_start_up(tmp_path: Path) -> None:
    with DiscordStandIn() as standin:  # the intent is not switched on for the application
        done = run_bot(tmp_path, "discord", DISCORD_BOT_TOKEN=P.BOT_TOKEN, DISCORD_API_URL=standin.api.base_url,
                       DISCORD_FORUM_CHANNEL_IDS=P.FORUM_CHANNEL_ID)
        assert standin.gateway.intents and standin.gateway.intents[0] & P.MESSAGE_CONTENT_INTENT
    assert done.returncode == 2, done.stderr
    last = done.stderr.strip().splitlines()[-1]
    assert last.startswith("faq-bot: Discord refused the Message Content intent that DISCORD_FORUM_CHANNEL_IDS")
    assert "Traceback" not in done.stderr


def test_auto_gives_each_platform_its_own_metrics_port() -> None:
    # both serve /metrics, /readyz and the webhook on METRICS_PORT: two children cannot share one port
    assert ops_ports(["slack", "discord"], 9464) == {"slack": 9464, "discord": 9465}
    assert ops_ports(["discord"], 9464) == {"discord": 9464}
    assert ops_ports(["slack", "discord"], 0) == {"slack": 0, "discord": 0}  # any free port each


def test_sigterm_hands_back_a_reply_still_in_flight_at_the_deadline(tmp_path: Path,
                                                                     slow_embeddings: InferenceStub) -> None:
    """SHUTDOWN_DEADLINE_SECONDS holds for Discord as for Slack: a question
    whose embedding takes longer is handed back to the intake, not waited for."""
    with DiscordStandIn() as standin:
        bot = BotProcess(tmp_path, "discord", DISCORD_BOT_TOKEN=P.BOT_TOKEN, DISCORD_API_URL=standin.api.base_url,
                         DISCORD_GUILD_IDS=P.GUILD_ID, EMBEDDING_BACKEND="tei", EMBEDDING_URL=slow_embeddings.base_url,
                         HF_TOKEN=slow_embeddings.token, SHUTDOWN_DEADLINE_SECONDS="1")
        try:
            bot.wait_line(OPS_LINE)
            standin.gateway.wait_identified(timeout=120)
            asked = len(slow_embeddings.requests)
            vector = slow_embeddings.embed(["how do I sign up for Medicare?"]).tolist()
            slow_embeddings.script(Reply(200, vector, delay=30.0))
            standin.message(P.dm_message("how do I sign up for Medicare?"))
            wait_until = time.monotonic() + 30
            while len(slow_embeddings.requests) == asked and time.monotonic() < wait_until:
                time.sleep(0.05)  # the question is now in flight: its embedding is being computed
            started = time.monotonic()
            assert bot.stop() == 0
            took = time.monotonic() - started
        finally:
            if bot.process.poll() is None:
                bot.process.kill()
                bot.process.wait()
        assert standin.api.calls_to("POST", MESSAGES) == []
    assert took < 10  # the deadline, not the 30 s the embedding would take
    [(state, owner, lease_until, attempts)] = intake_rows(tmp_path)
    assert (state, owner, lease_until, attempts) == ("pending", None, 0.0, 0)  # anyone may take it now
    log = "".join(bot.lines)
    assert "received SIGTERM, stopping" in log and "handed back to the intake" in log and "Traceback" not in log
