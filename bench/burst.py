"""A burst of 1,000 mentions in HTTP mode: time until every one is answered.

The real pieces over real sockets, in one process on the machine's cores: the
bot's HTTP server (Bolt, signature check, the durable intake in an SQLite
file, the workers, the local model) and the Slack Web API stand-in, which
timestamps each ``chat.postMessage`` on arrival. Eight senders fire the
mentions as fast as the bot acknowledges them; every question is different.
The baseline, measured in the same run on other (equally distinct) questions,
before and after the bot (the faster of the two counts), is
``engine.answer_many`` on all 1,000 in one call: the bot has to record,
acknowledge, claim, answer, lay out, post and mark done on top of that.
Target: the bot within 1.5x of the batched engine.
"""

from __future__ import annotations

import resource
import shutil
import threading
import time
from http.client import HTTPConnection
from pathlib import Path

from bench.bot import _Questions
from bench.common import percentile, table
from bot.app import build_app, drain, settle, workers_of
from bot.http_server import EVENTS_PATH, BotHTTPServer
from bot.intake import Intake
from bot.store import Store
from faq_core.embedders import LocalEmbedder
from faq_core.engine import FAQEngine
from faq_core.sample import sample_index
from faq_core.settings import DEFAULT_MODEL, Settings
from tests.stubs.slack_api import BOT_TOKEN, BOT_USER_ID, SlackAPIStub
from tests.stubs.slack_payloads import SIGNING_SECRET, mention, signed_event

WORK = Path(__file__).resolve().parent / ".work" / "burst"
BURST = 1000
SENDERS = 8
TARGET_RATIO = 1.5


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def run() -> None:
    """Print the burst's total time and answers/s beside the batched engine, and the target check."""
    print(f"\n## bench.burst: {BURST} mentions at once, HTTP mode -> all answered "
          "(durable intake in SQLite, local model, stand-ins)")
    shutil.rmtree(WORK, ignore_errors=True)
    WORK.mkdir(parents=True)
    embedder = LocalEmbedder(DEFAULT_MODEL)
    embedder.warm_up()
    engine = FAQEngine(sample_index(embedder, WORK / "cache"), embedder)
    questions = _Questions(list(engine.index.texts))

    def batched_engine() -> float:
        """Seconds for engine.answer_many on BURST new questions in one call."""
        fresh = [questions.next() for _ in range(BURST)]
        began = time.perf_counter()
        engine.answer_many(fresh, 3)
        return time.perf_counter() - began

    baseline_runs = [batched_engine()]  # and once more after the bot: the faster one counts

    events = [mention(f"<@{BOT_USER_ID}> {questions.next()}") for _ in range(BURST)]
    requests = [signed_event(event) for event in events]
    order = {event["event"]["ts"]: n for n, event in enumerate(events)}
    with SlackAPIStub() as slack:
        settings = Settings(slack_bot_token=BOT_TOKEN, slack_signing_secret=SIGNING_SECRET,
                            slack_api_url=slack.base_url, database_url=f"sqlite:///{WORK / 'burst.db'}")
        store = Store(settings.database_url)
        app = build_app(settings, engine, store)
        server = BotHTTPServer(app, engine, "127.0.0.1", 0)
        server.start_background()
        acks: list[float] = []
        acked_at: dict[int, float] = {}
        lock = threading.Lock()
        rss_before = _rss_mb()
        peak_pending = [0]
        sending = threading.Event()

        def sender(share: list[int]) -> None:
            connection = HTTPConnection("127.0.0.1", server.port, timeout=30)
            mine = []
            done: dict[int, float] = {}
            for n in share:
                began = time.perf_counter()
                connection.request("POST", EVENTS_PATH, body=requests[n].body, headers=requests[n].headers)
                response = connection.getresponse()
                response.read()
                if response.status != 200:
                    raise RuntimeError(f"the bot answered {response.status}")
                done[n] = time.perf_counter()
                mine.append(done[n] - began)
            connection.close()
            with lock:
                acks.extend(mine)
                acked_at.update(done)

        def watch_backlog() -> None:
            intake = Intake(store)
            while sending.is_set():
                peak_pending[0] = max(peak_pending[0], intake.pending())
                time.sleep(0.25)

        try:
            threads = [threading.Thread(target=sender, args=(list(range(i, BURST, SENDERS)),))
                       for i in range(SENDERS)]
            sending.set()
            watcher = threading.Thread(target=watch_backlog, daemon=True)
            watcher.start()
            start = time.perf_counter()
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
            all_acked = time.perf_counter() - start
            calls = slack.wait_for(lambda calls: sum(c.method == "chat.postMessage" for c in calls) >= BURST,
                                   timeout=600)
            sending.clear()
            settle(app)
            posts = [c for c in calls if c.method == "chat.postMessage"]
            total = max(c.at for c in posts) - start
            answered_once = len({c.params.get("thread_ts") for c in posts}) == BURST == len(posts)
            arrival = {n: rank for rank, n in enumerate(sorted(acked_at, key=acked_at.__getitem__))}
            positions = [arrival[order[c.params["thread_ts"]]] for c in sorted(posts, key=lambda c: c.at)]
            late = max(abs(i - p) for i, p in enumerate(positions))
            threads_used = workers_of(app).threads
        finally:
            server.shutdown()
            server.server_close()
            drain(app)
            store.close()
    rss_after = _rss_mb()
    baseline_runs.append(batched_engine())
    baseline = min(baseline_runs)

    ratio = total / baseline
    rows = [
        [f"engine.answer_many, {BURST} in one call (baseline)", f"{baseline:.2f}", f"{BURST / baseline:.0f}", "1.00"],
        [f"bot, {BURST} mentions from {SENDERS} senders", f"{total:.2f}", f"{BURST / total:.0f}", f"{ratio:.2f}"],
    ]
    print(table(["", "seconds until all answered", "answers/s", "ratio to baseline"], rows))
    print(f"baseline runs (before and after the bot): {', '.join(f'{b:.2f}' for b in baseline_runs)} s")
    print(f"acks: all {BURST} acknowledged within {all_acked:.2f} s; ack p50 {percentile(acks, 50) * 1000:.1f} ms, "
          f"p99 {percentile(acks, 99) * 1000:.1f} ms, max {max(acks) * 1000:.0f} ms")
    print(f"backlog: up to {peak_pending[0]} mentions waited in the store's intake; at most {threads_used} in "
          f"memory at a time; peak RSS {rss_before:.0f} -> {rss_after:.0f} MB")
    print(f"order: replies posted at most {late} places from acknowledgement order; each answered exactly once: "
          f"{'yes' if answered_once else 'NO'}")
    print(f"target: bot within {TARGET_RATIO}x of the batched engine: {ratio:.2f}x "
          f"{'PASS' if ratio <= TARGET_RATIO else 'FAIL'}")


if __name__ == "__main__":
    run()
