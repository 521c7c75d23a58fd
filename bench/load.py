"""The bot under load, side by side in one run: acknowledgements against the
floor, replies against the batched engine, a burst against ``answer_many``,
and ``faq-bot ask``'s start-up.

- **The floor**: an empty Starlette app under uvicorn that only checks the
  request's HMAC and answers 200, hit by the same senders (one at a time, then
  32 at once) in the same process. Target: the bot's ack p99 within 2x of its p99.
- **The bot** (HTTP mode: its server, Bolt, the durable intake, the workers),
  on SQLite and on PostgreSQL (``TEST_DATABASE_URL``; skipped with the reason
  when unset), with the default local backend (ONNX Runtime) and with torch
  (``local-torch``) as a second row. Ack p50/p99 and reply p50, one at a time
  and 32 concurrent; the reference for replies is ``engine.answer_many`` on 32
  other questions (the whole call, and per question). Target: reply p50 at 32
  within 2x of that call.
- **The burst**: 1,000 mentions from 8 senders until all are answered, against
  ``engine.answer_many`` on 1,000 other questions in one call (the faster of a
  run before and after). Target: within 1.3x.
- **Start-up**: ``faq-bot ask`` from process start to its first answer line.

Every question is different (no cache hits). ``BENCH_QUICK=1`` runs small
sizes, for development; its figures are not the ones to quote.
``BENCH_WORK=DIR`` puts the scratch files elsewhere than ``bench/.work``.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.client import HTTPConnection
from pathlib import Path

from bench.bot import _one, _Questions, _reply_times
from bench.burst_slack import questions
from bench.common import percentile, table, together
from bench.startup import QUESTION, environment, first_line_seconds
from bot.slack.app import build_app, drain, settle
from bot.slack.http_server import EVENTS_PATH, BotHTTPServer
from bot.slack.settings import SlackSettings
from bot.store.database import Store, normalise_url
from faq_core.embedders import Embedder, LocalEmbedder, make_embedder
from faq_core.engine import FAQEngine
from faq_core.sample import sample_index
from faq_core.settings import DEFAULT_MODEL, load_settings
from tests.stubs.slack_api import BOT_TOKEN, SlackAPIStub
from tests.stubs.slack_payloads import SIGNING_SECRET

QUICK = os.environ.get("BENCH_QUICK", "") not in ("", "0")
WORK = Path(os.environ.get("BENCH_WORK") or Path(__file__).resolve().parent / ".work") / "load"
CONCURRENT = 32
SEQUENTIAL = 12 if QUICK else 60
ROUNDS = 1 if QUICK else 5
BURST = 200 if QUICK else 1000
STARTUP_RUNS = 1 if QUICK else 5
ACK_RATIO_TARGET = 2.0
REPLY_RATIO_TARGET = 2.0
BURST_RATIO_TARGET = 1.3


# -- the floor: an empty app that only checks the signature --------------------------------
def _floor_asgi():  # type: ignore[no-untyped-def]
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import Response
    from starlette.routing import Route

    secret = SIGNING_SECRET.encode()

    async def events(request: Request) -> Response:
        body = await request.body()
        stamp = request.headers.get("x-slack-request-timestamp", "")
        expected = "v0=" + hmac.new(secret, f"v0:{stamp}:".encode() + body, hashlib.sha256).hexdigest()
        if not hmac.compare_digest(expected, request.headers.get("x-slack-signature", "")):
            return Response(status_code=401)
        return Response(status_code=200)

    return Starlette(routes=[Route(EVENTS_PATH, events, methods=["POST"])])


@contextmanager
def floor_server() -> Iterator[int]:
    """The empty app under uvicorn on a thread; yields its port."""
    import uvicorn

    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    config = uvicorn.Config(_floor_asgi(), ws="none", lifespan="off", loop="asyncio", log_config=None,
                            access_log=False, server_header=False)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=lambda: asyncio.run(server.serve(sockets=[sock])), daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.01)
    try:
        yield sock.getsockname()[1]
    finally:
        server.should_exit = True
        thread.join(10)
        sock.close()


# -- the senders ---------------------------------------------------------------------------
@dataclass
class Sent:
    """Acknowledgement times (seconds) and the mentions' ts, one at a time and concurrent."""

    acks_one: list[float]
    ts_one: list[str]
    acks_many: list[float]
    ts_many: list[str]


def send(port: int, supply: _Questions, *, settled: Callable[[list[str]], object] = lambda ts: None) -> Sent:
    """SEQUENTIAL mentions one at a time (each waited for with ``settled``), then
    ROUNDS of CONCURRENT at once (each round settled before the next)."""
    sent = Sent([], [], [], [])
    connection = HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        for _ in range(SEQUENTIAL):
            ack, ts = _one(connection, supply.next())
            sent.acks_one.append(ack)
            sent.ts_one.append(ts)
            settled([ts])
    finally:
        connection.close()
    lock = threading.Lock()
    for _ in range(ROUNDS):
        barrier = threading.Barrier(CONCURRENT)
        stamps: list[str] = []

        def fire(barrier: threading.Barrier = barrier, stamps: list[str] = stamps) -> None:
            own = HTTPConnection("127.0.0.1", port, timeout=30)
            own.connect()
            question = supply.next()
            barrier.wait()
            ack, ts = _one(own, question)
            own.close()
            with lock:
                sent.acks_many.append(ack)
                stamps.append(ts)

        together(fire, CONCURRENT)
        sent.ts_many += stamps
        settled(stamps)
    return sent


def _ms(samples: list[float], q: float) -> float:
    return percentile(samples, q) * 1000


# -- the databases -------------------------------------------------------------------------
@contextmanager
def database(kind: str) -> Iterator[str]:
    """A fresh database URL of ``kind`` (``sqlite``: a file; ``postgres``: a schema of its own)."""
    if kind == "sqlite":
        folder = Path(tempfile.mkdtemp(dir=WORK, prefix="db-"))
        try:
            yield f"sqlite:///{folder / 'bench.db'}"
        finally:
            shutil.rmtree(folder, ignore_errors=True)
        return
    from sqlalchemy import create_engine, text

    base = os.environ["TEST_DATABASE_URL"]
    schema = f"faqbot_bench_{uuid.uuid4().hex[:10]}"
    admin = create_engine(normalise_url(base))
    with admin.begin() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        yield f"{base}{'&' if '?' in base else '?'}options=-csearch_path%3D{schema}"
    finally:
        with admin.begin() as connection:
            connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def databases() -> list[str]:
    """SQLite always; PostgreSQL when ``TEST_DATABASE_URL`` names a server (else the reason is printed)."""
    if os.environ.get("TEST_DATABASE_URL"):
        return ["sqlite", "postgres"]
    print("PostgreSQL: skipped, TEST_DATABASE_URL is not set "
          "(export TEST_DATABASE_URL=\"$(.venv/bin/python -m tests.postgres_server)\")")
    return ["sqlite"]


def time_inserts(store: Store, samples: list[float]) -> None:
    """Append to ``samples`` the seconds each acknowledgement's intake insert
    takes, waiting for the store included: how much of an ack is the store's."""
    original = getattr(store, "ack_transaction", None)
    if original is None:  # the code before acknowledgements had a path of their own
        return

    @contextmanager
    def timed() -> Iterator[object]:
        began = time.perf_counter()
        with original() as connection:
            yield connection
        samples.append(time.perf_counter() - began)

    store.ack_transaction = timed  # type: ignore[method-assign,assignment]


@contextmanager
def running_bot(engine: FAQEngine, url: str, slack: SlackAPIStub,
                inserts: list[float]) -> Iterator[tuple[int, Callable[[], None]]]:
    """The bot in HTTP mode over ``url``; yields its port and how to wait for its workers to settle."""
    settings = SlackSettings(slack_bot_token=BOT_TOKEN, slack_signing_secret=SIGNING_SECRET,
                             slack_api_url=slack.base_url, database_url=url)
    store = Store(url)
    time_inserts(store, inserts)
    app = build_app(settings, engine, store)
    server = BotHTTPServer(app, engine, "127.0.0.1", 0, signing_secret=SIGNING_SECRET, store=store)
    server.start_background()
    try:
        yield server.port, lambda: settle(app, 300)
    finally:
        server.shutdown()
        server.server_close()
        drain(app)
        store.close()


# -- the measures --------------------------------------------------------------------------
def batched_call(engine: FAQEngine, count: int, first: int) -> float:
    """Seconds for one ``answer_many`` on ``count`` new questions."""
    fresh = questions(count, first=first)
    began = time.perf_counter()
    engine.answer_many(fresh, 3)
    return time.perf_counter() - began


def ack_rows(engine: FAQEngine, backend: str, supply: _Questions) -> tuple[list[list[object]], list[str]]:
    """Rows for the floor and the bot on each database, and the target lines."""
    rows: list[list[object]] = []
    verdicts: list[str] = []
    references = [batched_call(engine, CONCURRENT, 500_000 + n * 1000) for n in range(3)]
    reference = sorted(references)[1]  # the median of three calls of CONCURRENT questions
    rows.append([backend, f"engine.answer_many({CONCURRENT}) (reply reference)", "-", "-", "-", "-",
                 f"{reference * 1000:.0f} (per question {reference * 1000 / CONCURRENT:.1f})", "-", "-", "-"])
    with SlackAPIStub() as slack:
        for kind in databases():
            with floor_server() as port:
                floor = send(port, supply)
            floor_p99 = _ms(floor.acks_many, 99)
            rows.append([backend, f"floor: empty Starlette app, HMAC only ({kind} run)",
                         _ms(floor.acks_one, 50), _ms(floor.acks_one, 99), _ms(floor.acks_many, 50), floor_p99,
                         "-", "-", "1.00", "-"])
            inserts: list[float] = []
            with database(kind) as url, running_bot(engine, url, slack, inserts) as (port, settled):
                warm = HTTPConnection("127.0.0.1", port, timeout=30)
                for _ in range(3):  # warm-up: connections, Bolt, the store
                    _reply_times(slack, [_one(warm, supply.next())[1]])
                warm.close()
                sent = send(port, supply, settled=lambda ts: _reply_times(slack, ts))
                settled()
            replies_one = _reply_times(slack, sent.ts_one)
            replies_many = _reply_times(slack, sent.ts_many)
            ack_p99 = _ms(sent.acks_many, 99)
            reply_p50 = _ms(replies_many, 50)
            rows.append([backend, f"bot on {kind}", _ms(sent.acks_one, 50), _ms(sent.acks_one, 99),
                         _ms(sent.acks_many, 50), ack_p99, f"{_ms(replies_one, 50):.0f} / {reply_p50:.0f}",
                         f"{reply_p50 / (reference * 1000):.2f}", f"{ack_p99 / floor_p99:.2f}",
                         f"{_ms(inserts, 50):.1f} / {_ms(inserts, 99):.1f}" if inserts else "-"])
            ack_ok = ack_p99 <= ACK_RATIO_TARGET * floor_p99
            reply_ok = reply_p50 <= REPLY_RATIO_TARGET * reference * 1000
            verdicts.append(f"{backend}, {kind}: ack p99 at {CONCURRENT} = {ack_p99 / floor_p99:.2f}x the floor "
                            f"(target <= {ACK_RATIO_TARGET:g}x) {'PASS' if ack_ok else 'FAIL'}; reply p50 at "
                            f"{CONCURRENT} = {reply_p50 / (reference * 1000):.2f}x one answer_many({CONCURRENT}) "
                            f"(target <= {REPLY_RATIO_TARGET:g}x) {'PASS' if reply_ok else 'FAIL'}")
    return rows, verdicts


def burst(engine: FAQEngine, backend: str) -> tuple[list[object], str]:
    """BURST mentions from 8 senders in another process until all are answered, against answer_many."""
    rounds = iter(range(1, 10))
    batched_call(engine, BURST, 0)  # warm-up, not counted
    baselines = [batched_call(engine, BURST, next(rounds) * 100_000)]
    slack = subprocess.Popen([sys.executable, "-m", "bench.burst_slack"], stdin=subprocess.PIPE,
                             stdout=subprocess.PIPE, text=True)
    assert slack.stdin is not None and slack.stdout is not None
    ready = slack.stdout.readline().split()
    assert ready[0] == "READY", ready
    folder = Path(tempfile.mkdtemp(dir=WORK, prefix="burst-"))
    settings = SlackSettings(slack_bot_token=BOT_TOKEN, slack_signing_secret=SIGNING_SECRET,
                             slack_api_url=ready[1], database_url=f"sqlite:///{folder / 'burst.db'}")
    store = Store(settings.database_url)
    app = build_app(settings, engine, store)
    server = BotHTTPServer(app, engine, "127.0.0.1", 0, signing_secret=SIGNING_SECRET, store=store)
    server.start_background()
    try:
        slack.stdin.write(f"GO {server.port} {BURST}\n")
        slack.stdin.flush()
        line = slack.stdout.readline()
        assert line.startswith("DONE "), line
        report = json.loads(line.removeprefix("DONE "))
        settle(app, 300)
    finally:
        slack.stdin.close()
        slack.wait(timeout=60)
        server.shutdown()
        server.server_close()
        drain(app)
        store.close()
        shutil.rmtree(folder, ignore_errors=True)
    baselines.append(batched_call(engine, BURST, next(rounds) * 100_000))
    total = max(at for _, at in report["posts"]) - report["start"]
    baseline = min(baselines)
    ratio = total / baseline
    once = len({ts for ts, _ in report["posts"]}) == BURST == len(report["posts"])
    row = [backend, f"{baseline:.2f} ({baselines[0]:.2f}, {baselines[1]:.2f})", f"{total:.2f}", f"{ratio:.2f}",
           f"{percentile(report['acks'], 50) * 1000:.1f} / {percentile(report['acks'], 99) * 1000:.1f}",
           "yes" if once else "NO"]
    return row, (f"{backend}: burst of {BURST} = {ratio:.2f}x answer_many (target <= {BURST_RATIO_TARGET:g}x) "
                 f"{'PASS' if ratio <= BURST_RATIO_TARGET else 'FAIL'}")


def startup() -> list[list[object]]:
    """``faq-bot ask`` start-up, ONNX (the default) and torch, beside ``python -c 'import numpy'``."""
    faq_bot = str(Path(sys.executable).with_name("faq-bot"))
    with tempfile.TemporaryDirectory(dir=WORK, prefix="startup-") as scratch:
        home = Path(scratch)
        env = environment(home)
        first_line_seconds([faq_bot, "ask", QUESTION], env, home)  # exports the ONNX model, caches the sample
        commands = {
            "python -c 'import numpy' (baseline)": ([sys.executable, "-c", "import numpy; print('ok')"], env),
            "faq-bot ask (local: ONNX Runtime)": ([faq_bot, "ask", QUESTION], env),
            "faq-bot ask (local-torch)": ([faq_bot, "ask", QUESTION], {**env, "EMBEDDING_BACKEND": "local-torch"}),
        }
        times: dict[str, list[float]] = {name: [] for name in commands}
        for _ in range(STARTUP_RUNS):
            for name, (command, command_env) in commands.items():
                times[name].append(first_line_seconds(command, command_env, home))
    return [[name, sorted(t)[len(t) // 2], min(t)] for name, t in times.items()]


def _cache_dir() -> dict[str, str]:
    return {"FAQ_CACHE_DIR": os.environ["FAQ_CACHE_DIR"]} if os.environ.get("FAQ_CACHE_DIR") else {}


def _engine(backend: str) -> FAQEngine:
    embedder: Embedder
    if backend == "onnx":
        # as the bot makes it (the model exported once into FAQ_CACHE_DIR by make install)
        embedder = make_embedder(load_settings({"EMBEDDING_BACKEND": "local", **_cache_dir()}, dotenv=False))
    else:
        embedder = LocalEmbedder(DEFAULT_MODEL)
    embedder.warm_up()
    return FAQEngine(sample_index(embedder, WORK / f"cache-{backend}"), embedder)


def run() -> None:
    """Print acks beside the floor, replies beside the batched engine, the burst and start-up, in one section."""
    load = os.getloadavg()
    print(f"\n## bench.load: under load, HTTP mode ({'QUICK sizes, not for quoting; ' if QUICK else ''}"
          f"load average at start {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}, {os.cpu_count()} cores)")
    shutil.rmtree(WORK, ignore_errors=True)
    WORK.mkdir(parents=True)
    ack_table: list[list[object]] = []
    burst_table: list[list[object]] = []
    verdicts: list[str] = []
    for backend in ("onnx", "torch"):
        engine = _engine(backend)
        supply = _Questions(list(engine.index.texts))
        rows, lines = ack_rows(engine, backend, supply)
        ack_table += rows
        verdicts += lines
        row, line = burst(engine, backend)
        burst_table.append(row)
        verdicts.append(line)
    print(f"acks and replies ({SEQUENTIAL} one at a time; {ROUNDS} rounds of {CONCURRENT} at once; milliseconds):")
    print(table(["backend", "server", "ack p50 @1", "ack p99 @1", f"ack p50 @{CONCURRENT}", f"ack p99 @{CONCURRENT}",
                 f"reply p50 @1 / @{CONCURRENT}", f"reply p50 @{CONCURRENT} / answer_many({CONCURRENT})",
                 f"ack p99 @{CONCURRENT} / floor", "intake insert in the ack p50 / p99 (all acks)"], ack_table))
    print(f"\nburst: {BURST} mentions from 8 senders (another process) until all answered, SQLite:")
    print(table(["backend", f"answer_many({BURST}) s (before, after)", "bot s", "ratio", "ack p50 / p99 ms",
                 "each answered once"], burst_table))
    print("\nstart-up, process start to the first answer line (seconds):")
    print(table(["command", "median", "best"], startup()))
    for line in verdicts:
        print(f"target: {line}")
    load = os.getloadavg()
    print(f"load average at the end: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")
    shutil.rmtree(WORK, ignore_errors=True)


if __name__ == "__main__":
    run()
