"""Several replicas sharing one PostgreSQL store (``python -m bench replicas``).

Starts N real ``python -m bot --http`` processes (N = 1, then 3) on this
machine, all with the same ``DATABASE_URL`` (a schema of their own on the
PostgreSQL server at ``BENCH_DATABASE_URL`` or ``TEST_DATABASE_URL``) and
the same Slack Web API stand-in, and sends 3,000 signed mentions spread over
them round-robin from 8 senders. Every tenth mention is delivered a second
time, to the *next* replica, marked as Slack's retry: the intake's unique
key must make exactly one replica answer it. Counts, per run:

- lost: mentions with no reply in their thread;
- duplicated: mentions with more than one reply;
- answers/s: mentions / (last first-reply - first send).

and prints the 3-replica rate as a ratio to 1 replica measured in the same
run. Without a PostgreSQL URL it prints why and skips (SQLite is one
machine's file: replicas on several machines need a server).
"""

from __future__ import annotations

import contextlib
import os
import re
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from http.client import HTTPConnection
from pathlib import Path

from bench.burst_slack import questions
from bench.common import table
from tests.stubs.slack_api import BOT_TOKEN, BOT_USER_ID, SlackAPIStub
from tests.stubs.slack_payloads import SIGNING_SECRET, mention, signed_event

EVENTS = int(os.environ.get("BENCH_REPLICA_EVENTS", "3000"))
SENDERS = 8
RETRY_EVERY = 10
START_TIMEOUT = 180
ANSWER_TIMEOUT = 900
EVENTS_PATH = "/slack/events"


def database_url() -> str | None:
    return os.environ.get("BENCH_DATABASE_URL") or os.environ.get("TEST_DATABASE_URL")


class Replica:
    """One ``python -m bot --http`` process on a free port, its log drained on a thread."""

    def __init__(self, env: dict[str, str], workdir: Path) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "bot", "--http", "--host", "127.0.0.1", "--port", "0"], cwd=workdir, env=env,
            stderr=subprocess.PIPE, text=True)
        self.lines: list[str] = []
        self._port: list[int] = []
        self._ready = threading.Event()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.process.stderr is not None
        for line in self.process.stderr:
            self.lines.append(line)
            found = re.search(r"listening on http://127\.0\.0\.1:(\d+)/", line)
            if found:
                self._port.append(int(found.group(1)))
                self._ready.set()
        self._ready.set()

    def port(self) -> int:
        if not self._ready.wait(START_TIMEOUT) or not self._port:
            raise RuntimeError("a replica did not start:\n" + "".join(self.lines[-20:]))
        return self._port[0]

    def stop(self) -> int:
        self.process.terminate()
        return self.process.wait(timeout=60)


def _schema_url(base: str, schema: str) -> str:
    separator = "&" if "?" in base else "?"
    return f"{base}{separator}options=-csearch_path%3D{schema}"


def run_once(replicas: int, base_url: str, workdir: Path) -> dict[str, float]:
    """Start ``replicas`` bots on a fresh schema, send the mentions, count what came back."""
    from sqlalchemy import create_engine, text

    from bot.store.database import normalise_url

    schema = f"faqbot_bench_{uuid.uuid4().hex[:10]}"
    admin = create_engine(normalise_url(base_url))
    with admin.begin() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    slack = SlackAPIStub()
    slack.__enter__()
    running: list[Replica] = []
    try:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "HF_TOKEN", "DATABASE_URL"))}
        env.update({"SLACK_BOT_TOKEN": BOT_TOKEN, "SLACK_SIGNING_SECRET": SIGNING_SECRET,
                    "SLACK_API_URL": slack.base_url, "DATABASE_URL": _schema_url(base_url, schema),
                    "EMBEDDING_BACKEND": "local", "LOG_LEVEL": "INFO"})  # INFO: the port is logged
        # the first replica creates the schema's tables (Alembic); the others find them there
        running.append(Replica(env, workdir))
        ports = [running[0].port()]
        for _ in range(replicas - 1):
            running.append(Replica(env, workdir))
        ports += [replica.port() for replica in running[1:]]

        events = [mention(f"<@{BOT_USER_ID}> {q}") for q in questions(EVENTS, first=replicas * EVENTS)]
        deliveries = [(n, n % replicas, 0) for n in range(EVENTS)]
        deliveries += [(n, (n + 1) % replicas, 1) for n in range(0, EVENTS, RETRY_EVERY)]
        deliveries.sort(key=lambda d: (d[0] + d[2] * 5, d[2]))  # a retry follows its original closely
        refused: list[int] = []

        def sender(share: list[tuple[int, int, int]]) -> None:
            connections = [HTTPConnection("127.0.0.1", port, timeout=60) for port in ports]
            for n, replica, retry in share:
                request = signed_event(events[n], retry=retry or None)
                connection = connections[replica]
                connection.request("POST", EVENTS_PATH, body=request.body, headers=request.headers)
                response = connection.getresponse()
                response.read()
                if response.status != 200:
                    refused.append(n)
            for connection in connections:
                connection.close()

        threads = [threading.Thread(target=sender, args=(deliveries[i::SENDERS],)) for i in range(SENDERS)]
        start = time.perf_counter()
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        wanted = {event["event"]["ts"] for event in events}

        def answered(calls: list) -> bool:  # type: ignore[type-arg]
            return len({c.params.get("thread_ts") for c in calls if c.method == "chat.postMessage"} & wanted) \
                >= len(wanted)

        with contextlib.suppress(AssertionError):  # what never came is counted as lost below
            slack.wait_for(answered, timeout=ANSWER_TIMEOUT)
        time.sleep(3.0)  # time for a late second reply to show up
        posts = [c for c in slack.calls_to("chat.postMessage") if c.params.get("thread_ts") in wanted]
        replies = Counter(c.params["thread_ts"] for c in posts)
        first_reply = {}
        for call in posts:
            first_reply.setdefault(call.params["thread_ts"], call.at)
        end = max(first_reply.values()) if first_reply else time.perf_counter()
        codes = [replica.stop() for replica in running]
        running.clear()
        return {"replicas": replicas, "events": EVENTS, "deliveries": len(deliveries),
                "lost": len(wanted - set(replies)), "duplicated": sum(1 for n in replies.values() if n > 1),
                "refused": len(refused), "seconds": end - start, "answers_per_s": len(first_reply) / (end - start),
                "clean_exits": sum(code == 0 for code in codes)}
    finally:
        for replica in running:
            replica.process.kill()
        slack.__exit__(None, None, None)
        with admin.begin() as connection:
            connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def run() -> None:
    print(f"\n## Replicas sharing PostgreSQL ({EVENTS} mentions, every {RETRY_EVERY}th delivered twice)")
    base = database_url()
    if not base:
        print("skipped: set BENCH_DATABASE_URL or TEST_DATABASE_URL to a PostgreSQL server")
        return
    with tempfile.TemporaryDirectory() as workdir:
        results = [run_once(n, base, Path(workdir)) for n in (1, 3)]
    print(table(["replicas", "deliveries", "lost", "duplicated", "refused", "all answered in", "answers/s",
                 "exit 0"],
                [[r["replicas"], r["deliveries"], r["lost"], r["duplicated"], r["refused"], f"{r['seconds']:.1f} s",
                  f"{r['answers_per_s']:.1f}", f"{r['clean_exits']}/{r['replicas']}"] for r in results]))
    one, three = results
    print(f"3 replicas / 1 replica answers/s: {three['answers_per_s'] / one['answers_per_s']:.2f}x "
          f"(load average {os.getloadavg()[0]:.1f} at the end)")
