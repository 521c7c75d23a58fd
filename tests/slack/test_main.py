"""``python -m bot`` as a real process: clear start-up errors naming the bad
setting (exit status 2, no stack trace, no secret), and a full start in both
transports against the Slack stand-ins, stopped cleanly with SIGTERM."""

from __future__ import annotations

import os
import queue
import re
import signal
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import requests

from faq_core.faqs import FAQ
from faq_core.index import FAQIndex, IndexMeta, save_index
from tests.conftest import share_onnx_model
from tests.stubs.slack_api import APP_TOKEN, BOT_TOKEN, BOT_USER_ID, SlackAPIStub
from tests.stubs.slack_payloads import SIGNING_SECRET, direct_message, mention, signed_event
from tests.stubs.socket_mode import SocketModeStub

START_TIMEOUT = 120


def bot_env(tmp_path: Path, **values: str) -> dict[str, str]:
    """The environment of a bot process: offline, local model, its own cache and database."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "HF_TOKEN", "DATABASE_URL"))}
    env.update({
        "HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1",
        "EMBEDDING_BACKEND": "local", "FAQ_CACHE_DIR": str(tmp_path / "cache"),
        "DATABASE_URL": f"sqlite:///{tmp_path / 'bot.db'}", "LOG_LEVEL": "INFO",
        "METRICS_PORT": "0",  # Socket Mode's ops server on a free port: parallel runs never collide
    })
    env.update(values)
    share_onnx_model(Path(env["FAQ_CACHE_DIR"]))
    return env


def run_bot(tmp_path: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "bot", *args], cwd=tmp_path, env=bot_env(tmp_path, **env),
                          capture_output=True, text=True, timeout=START_TIMEOUT)


class BotProcess:
    """A running ``python -m bot`` whose log lines can be waited for."""

    def __init__(self, tmp_path: Path, *args: str, **env: str) -> None:
        self.process = subprocess.Popen([sys.executable, "-m", "bot", *args], cwd=tmp_path,
                                        env=bot_env(tmp_path, **env), stderr=subprocess.PIPE, text=True)
        self.lines: list[str] = []
        self._queue: queue.Queue[str | None] = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.process.stderr is not None
        for line in self.process.stderr:
            self._queue.put(line)
        self._queue.put(None)

    def wait_line(self, pattern: str, timeout: float = START_TIMEOUT) -> re.Match[str]:
        """Block until a log line matches ``pattern``; fail with the log so far."""
        regex = re.compile(pattern)
        while True:
            try:
                line = self._queue.get(timeout=timeout)
            except queue.Empty:
                raise AssertionError(f"no log line matching {pattern!r}:\n{''.join(self.lines)}") from None
            if line is None:
                raise AssertionError(f"the bot exited before logging {pattern!r}:\n{''.join(self.lines)}")
            self.lines.append(line)
            found = regex.search(line)
            if found:
                return found

    def stop(self) -> int:
        self.process.send_signal(signal.SIGTERM)
        code = self.process.wait(timeout=30)
        while (line := self._queue.get(timeout=5)) is not None:
            self.lines.append(line)
        return code


@pytest.mark.parametrize(
    ("env", "args", "setting"),
    [
        ({}, (), "SLACK_BOT_TOKEN is not set"),
        ({"SLACK_BOT_TOKEN": APP_TOKEN, "SLACK_APP_TOKEN": APP_TOKEN}, (), "SLACK_BOT_TOKEN does not look right"),
        ({"SLACK_BOT_TOKEN": BOT_TOKEN, "SLACK_APP_TOKEN": BOT_TOKEN}, (), "SLACK_APP_TOKEN does not look right"),
        ({"SLACK_BOT_TOKEN": BOT_TOKEN}, (), "SLACK_SIGNING_SECRET is not set"),
        ({"SLACK_BOT_TOKEN": BOT_TOKEN, "SLACK_APP_TOKEN": APP_TOKEN}, ("--http",), "SLACK_SIGNING_SECRET is not set"),
        ({"SLACK_BOT_TOKEN": BOT_TOKEN, "SLACK_SIGNING_SECRET": "not a secret!"}, ("--http",),
         "SLACK_SIGNING_SECRET does not look right"),
        ({"SLACK_BOT_TOKEN": BOT_TOKEN, "EMBEDDING_BACKEND": "magic"}, (), "EMBEDDING_BACKEND must be one of"),
        ({"SLACK_BOT_TOKEN": "xoxb-123 456", "SLACK_APP_TOKEN": APP_TOKEN}, (),
         "SLACK_BOT_TOKEN does not look right: it starts with xoxb- but also holds characters a Slack token never"),
        ({"SLACK_BOT_TOKEN": BOT_TOKEN, "SLACK_APP_TOKEN": '"xapp-1-A0-1-ab"'}, (),
         "SLACK_APP_TOKEN does not look right: it should start with xapp- but holds an unknown kind of value"),
        ({"SLACK_BOT_TOKEN": BOT_TOKEN, "SLACK_APP_TOKEN": APP_TOKEN, "LOG_LEVEL": "LOUD"}, (),
         "LOG_LEVEL must be one of DEBUG, INFO, WARNING, ERROR, CRITICAL"),
    ],
    ids=["no-bot-token", "app-token-as-bot-token", "bot-token-as-app-token", "no-secret-no-app-token",
         "http-without-secret", "malformed-secret", "bad-core-setting", "bot-token-with-a-space",
         "quoted-app-token", "bad-log-level"],
)
def test_bad_settings_stop_start_up_with_a_message_naming_them(
    tmp_path: Path, env: dict[str, str], args: tuple[str, ...], setting: str
) -> None:
    result = run_bot(tmp_path, *args, **env)
    assert result.returncode == 2
    assert setting in result.stderr
    assert "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    for secret in (BOT_TOKEN, APP_TOKEN):
        assert secret not in result.stderr


def test_a_local_model_that_is_not_packaged_stops_start_up(tmp_path: Path, slack_api: SlackAPIStub) -> None:
    # An index made elsewhere with another model; offline, the local backend cannot load that model.
    model = "BAAI/bge-base-en-v1.5"
    vectors = np.eye(2, 768, dtype=np.float32)
    meta = IndexMeta(model_id=model, dim=768, backend="tei", faq_count=2, phrasing_count=2)
    index = FAQIndex([FAQ("a", "First?"), FAQ("b", "Second?")], ["First?", "Second?"], vectors,
                     np.arange(2), meta)
    folder = save_index(index, tmp_path / "bge-index")
    result = run_bot(tmp_path, SLACK_BOT_TOKEN=BOT_TOKEN, SLACK_APP_TOKEN=APP_TOKEN,
                     SLACK_API_URL=slack_api.base_url, FAQ_INDEX=str(folder), EMBEDDING_MODEL=model)
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith(f"faq-bot: the local backend cannot load EMBEDDING_MODEL={model}: only ")
    assert "EMBEDDING_BACKEND=tei" in last


def test_a_token_slack_rejects_stops_start_up(tmp_path: Path) -> None:
    with SlackAPIStub(bot_token="xoxb-the-real-one") as slack:
        result = run_bot(tmp_path, "--http", SLACK_BOT_TOKEN=BOT_TOKEN, SLACK_SIGNING_SECRET=SIGNING_SECRET,
                         SLACK_API_URL=slack.base_url)
    assert result.returncode == 2
    assert "Slack rejected SLACK_BOT_TOKEN (invalid_auth)" in result.stderr
    assert "Traceback" not in result.stderr and BOT_TOKEN not in result.stderr


def test_an_unreachable_slack_api_stops_start_up(tmp_path: Path) -> None:
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        closed = probe.getsockname()[1]
    result = run_bot(tmp_path, "--http", SLACK_BOT_TOKEN=BOT_TOKEN, SLACK_SIGNING_SECRET=SIGNING_SECRET,
                     SLACK_API_URL=f"http://127.0.0.1:{closed}/api/")
    assert result.returncode == 1
    # one line: slack_sdk's own ERROR for the failed request does not come before it
    [line] = result.stderr.strip().splitlines()
    assert line.startswith(f"faq-bot: Could not reach the Slack Web API at SLACK_API_URL=http://127.0.0.1:{closed}/api/")
    assert BOT_TOKEN not in result.stderr


def test_a_metrics_port_in_use_stops_socket_mode_start_up_with_one_line(
    tmp_path: Path, slack_api: SlackAPIStub
) -> None:
    with socket.socket() as taken, SocketModeStub() as socket_server:
        taken.bind(("0.0.0.0", 0))
        taken.listen()
        port = taken.getsockname()[1]
        slack_api.socket_url = socket_server.url
        result = run_bot(tmp_path, SLACK_BOT_TOKEN=BOT_TOKEN, SLACK_APP_TOKEN=APP_TOKEN,
                         SLACK_API_URL=slack_api.base_url, METRICS_PORT=str(port))
    assert result.returncode == 1
    assert result.stderr.splitlines()[-1] == f"faq-bot: cannot listen on METRICS_PORT={port}: Address already in use"
    assert "Traceback" not in result.stderr


def test_an_unusable_database_url_stops_start_up(tmp_path: Path, slack_api: SlackAPIStub) -> None:
    result = run_bot(tmp_path, "--http", SLACK_BOT_TOKEN=BOT_TOKEN, SLACK_SIGNING_SECRET=SIGNING_SECRET,
                     SLACK_API_URL=slack_api.base_url, DATABASE_URL="nosuchdb://nowhere/x")
    assert result.returncode == 2
    assert "DATABASE_URL could not be used" in result.stderr
    assert "Traceback" not in result.stderr


def test_a_port_in_use_stops_start_up_with_one_line(tmp_path: Path, slack_api: SlackAPIStub) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = run_bot(tmp_path, "--http", "--host", "127.0.0.1", "--port", str(port), SLACK_BOT_TOKEN=BOT_TOKEN,
                         SLACK_SIGNING_SECRET=SIGNING_SECRET, SLACK_API_URL=slack_api.base_url)
    assert result.returncode == 1
    assert result.stderr.splitlines()[-1] == f"faq-bot: cannot listen on 127.0.0.1:{port}: Address already in use"
    assert "Traceback" not in result.stderr


@pytest.fixture()
def http_process(tmp_path: Path, slack_api: SlackAPIStub) -> Iterator[BotProcess]:
    bot = BotProcess(tmp_path, "--http", "--host", "127.0.0.1", "--port", "0", SLACK_BOT_TOKEN=BOT_TOKEN,
                     SLACK_SIGNING_SECRET=SIGNING_SECRET, SLACK_API_URL=slack_api.base_url)
    yield bot
    if bot.process.poll() is None:
        bot.process.kill()
        bot.process.wait()


def test_http_mode_process_serves_events_and_health(http_process: BotProcess, slack_api: SlackAPIStub) -> None:
    index = http_process.wait_line(
        r"serving FAQ index (.+) from (\S+) \(revision (\S+)\): (\d+) FAQs, .* model ([^\s,]+)")
    assert index.group(1) == "the bundled Medicare sample"
    assert index.group(4) == "13" and index.group(5) == "sentence-transformers/all-MiniLM-L6-v2"
    http_process.wait_line(r"model warm \(warm-up embedding took")  # before serving: no slow first reply
    port = int(http_process.wait_line(r"listening on http://127\.0\.0\.1:(\d+)/slack/events").group(1))
    url = f"http://127.0.0.1:{port}"

    assert requests.get(url + "/healthz", timeout=10).json()["faqs"] == 13
    ready = requests.get(url + "/readyz", timeout=10)
    assert ready.status_code == 200, ready.text
    event = signed_event(mention(f"<@{BOT_USER_ID}> I lost my Medicare card"))
    assert requests.post(url + "/slack/events", data=event.body, headers=event.headers, timeout=10).status_code == 200
    [post] = slack_api.wait_calls("chat.postMessage")
    assert "How do I get a replacement Medicare card?" in post.params["text"]
    metrics = requests.get(url + "/metrics", timeout=10)  # Prometheus, on the same port as Slack's requests
    assert metrics.status_code == 200 and "faq_bot_intake_depth" in metrics.text

    assert http_process.stop() == 0
    log = "".join(http_process.lines)
    for secret in (BOT_TOKEN, SIGNING_SECRET):
        assert secret not in log


def test_socket_mode_process_connects_and_answers(tmp_path: Path, slack_api: SlackAPIStub) -> None:
    with SocketModeStub() as socket_server:
        slack_api.socket_url = socket_server.url
        bot = BotProcess(tmp_path, SLACK_BOT_TOKEN=BOT_TOKEN, SLACK_APP_TOKEN=APP_TOKEN,
                         SLACK_API_URL=slack_api.base_url)
        try:
            bot.wait_line(r" WARNING faq_core\.engine: FAQ_INDEX is not set: serving the bundled Medicare sample")
            bot.wait_line(r"serving FAQ index .*: 13 FAQs")
            socket_server.wait_connected(timeout=START_TIMEOUT)
            envelope = socket_server.send("events_api", direct_message("how do I sign up for Medicare?"))
            socket_server.wait_acks(envelope)
            [post] = slack_api.wait_calls("chat.postMessage")
            assert "How do I sign up for Medicare?" in post.params["text"]
            assert bot.stop() == 0
        finally:
            if bot.process.poll() is None:
                bot.process.kill()
                bot.process.wait()
    log = "".join(bot.lines)
    assert "Socket Mode" in log
    for secret in (BOT_TOKEN, APP_TOKEN):
        assert secret not in log
    assert_start_up_log_is_for_an_operator(bot.lines)


def assert_start_up_log_is_for_an_operator(lines: list[str]) -> None:
    """The start-up log says what an operator needs: the store's schema in one line, not the migration
    tool's plugin set-up and steps, and no warning about features the bot does not use."""
    log = "".join(lines)
    assert re.search(r" INFO bot\.store\.migrations: upgraded the store's schema from nothing to \w+", log)
    assert " alembic" not in log, log
    assert "voice will NOT be supported" not in log
    assert not [line for line in lines if " ERROR " in line or " CRITICAL " in line]
