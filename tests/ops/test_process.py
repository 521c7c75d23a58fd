"""``python -m bot`` as a real process, as a container runs it: Socket Mode
serves ``/healthz``, ``/readyz`` (with the connection to Slack) and
``/metrics`` on ``METRICS_PORT``; ``LOG_FORMAT=json`` writes one JSON object
per line; and SIGTERM stops taking work, lets what is in flight finish within
``SHUTDOWN_DEADLINE_SECONDS`` or hands it back to the intake, and exits 0."""

from __future__ import annotations

import json
import shutil
import sqlite3
import time
from pathlib import Path

import pytest
import requests

from bot.serving.hub_webhook import WEBHOOK_PATH
from tests.service.test_replicas import webhook_payload
from tests.slack.test_main import BotProcess
from tests.stubs.inference import InferenceStub, Reply
from tests.stubs.slack_api import APP_TOKEN, BOT_TOKEN, SlackAPIStub
from tests.stubs.slack_payloads import direct_message
from tests.stubs.socket_mode import SocketModeStub

OPS_LINE = r"operations endpoints on http://0\.0\.0\.0:(\d+) "


def socket_mode_bot(tmp_path: Path, slack_api: SlackAPIStub, socket_server: SocketModeStub, **env: str) -> BotProcess:
    slack_api.socket_url = socket_server.url
    return BotProcess(tmp_path, SLACK_BOT_TOKEN=BOT_TOKEN, SLACK_APP_TOKEN=APP_TOKEN, SLACK_API_URL=slack_api.base_url,
                      METRICS_PORT="0", **env)


def intake_rows(tmp_path: Path) -> list[tuple[str, str | None, float, int]]:
    with sqlite3.connect(tmp_path / "bot.db") as db:
        return db.execute("SELECT state, owner, lease_until, attempts FROM intake").fetchall()


def test_socket_mode_serves_health_readiness_metrics_and_the_webhook_and_logs_json(
    tmp_path: Path, slack_api: SlackAPIStub, revision_folders: dict[str, Path]
) -> None:
    index = shutil.copytree(revision_folders["v1"], tmp_path / "index")  # the sample, followed as a folder
    socket_server = SocketModeStub().__enter__()
    bot = socket_mode_bot(tmp_path, slack_api, socket_server, LOG_FORMAT="json", FAQ_INDEX=str(index),
                          HUB_WEBHOOK_SECRET="a-secret-42")
    try:
        port = int(bot.wait_line(OPS_LINE).group(1))
        socket_server.wait_connected(timeout=60)
        url = f"http://127.0.0.1:{port}"
        assert requests.get(url + "/healthz", timeout=10).json()["faqs"] == 13
        # the Hub webhook is mounted on the ops port too, guarded by its secret
        hook = webhook_payload("someone/else")
        assert requests.post(url + WEBHOOK_PATH, json=hook, headers={"X-Webhook-Secret": "guess"},
                             timeout=10).status_code == 401
        other = requests.post(url + WEBHOOK_PATH, json=hook, headers={"X-Webhook-Secret": "a-secret-42"}, timeout=10)
        assert other.status_code == 200 and other.json()["reload"] is False
        deadline = time.monotonic() + 30
        while (ready := requests.get(url + "/readyz", timeout=10)).status_code != 200 and time.monotonic() < deadline:
            time.sleep(0.2)
        assert ready.status_code == 200, ready.text
        assert ready.json()["checks"]["socket_mode"] == "ok"

        envelope = socket_server.send("events_api", direct_message("how do I sign up for Medicare?"))
        socket_server.wait_acks(envelope)
        slack_api.wait_calls("chat.postMessage")
        bot.wait_line(r'"question_id"')
        metrics = requests.get(url + "/metrics", timeout=10).text
        assert 'faq_bot_questions_total{outcome="answered",platform="slack"} 1.0' in metrics
        assert "faq_bot_index_info{" in metrics

        socket_server.__exit__(None, None, None)  # Slack's end goes away: no events can arrive
        deadline = time.monotonic() + 30
        while (ready := requests.get(url + "/readyz", timeout=10)).status_code == 200 and time.monotonic() < deadline:
            time.sleep(0.2)
        assert ready.status_code == 503
        assert ready.json()["checks"]["socket_mode"] == "the Socket Mode connection to Slack is down"
        assert bot.stop() == 0
    finally:
        socket_server.__exit__(None, None, None)
        if bot.process.poll() is None:
            bot.process.kill()
            bot.process.wait()
    entries = [json.loads(line) for line in bot.lines]  # every line is one JSON object
    assert {"time", "level", "logger", "message"} <= set(entries[0])
    [answered] = [e for e in entries if e.get("outcome") == "answered"]
    assert answered["question_id"].startswith("message:") and answered["latency_ms"] >= 0
    assert answered["platform"] == "slack"
    for secret in (BOT_TOKEN, APP_TOKEN, "a-secret-42"):
        assert secret not in "".join(bot.lines)


@pytest.mark.parametrize(("deadline", "delay", "finished"), [("20", 1.5, True), ("1", 30.0, False)],
                         ids=["finishes-in-time", "handed-back"])
def test_sigterm_finishes_or_hands_back_the_work_in_flight_and_exits_0(
    tmp_path: Path, slack_api: SlackAPIStub, slow_embeddings: InferenceStub, deadline: str, delay: float,
    finished: bool,
) -> None:
    with SocketModeStub() as socket_server:
        bot = socket_mode_bot(tmp_path, slack_api, socket_server, EMBEDDING_BACKEND="tei",
                              EMBEDDING_URL=slow_embeddings.base_url, HF_TOKEN=slow_embeddings.token,
                              SHUTDOWN_DEADLINE_SECONDS=deadline)
        try:
            bot.wait_line(OPS_LINE)
            socket_server.wait_connected(timeout=60)
            asked = len(slow_embeddings.requests)
            vector = slow_embeddings.embed(["how do I sign up for Medicare?"]).tolist()
            slow_embeddings.script(Reply(200, vector, delay=delay))
            envelope = socket_server.send("events_api", direct_message("how do I sign up for Medicare?"))
            socket_server.wait_acks(envelope)
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
    log = "".join(bot.lines)
    assert "received SIGTERM, stopping" in log and "Traceback" not in log
    [(state, owner, lease_until, attempts)] = intake_rows(tmp_path)
    if finished:
        assert state == "done"
        [post] = slack_api.calls_to("chat.postMessage")
        assert "How do I sign up for Medicare?" in post.params["text"]
    else:
        assert took < 10  # the deadline, not the 30 s the embedding would take
        assert (state, owner, lease_until, attempts) == ("pending", None, 0.0, 0)  # anyone may take it now
        assert slack_api.calls_to("chat.postMessage") == []
        assert "handed back to the intake" in log
