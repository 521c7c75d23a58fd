"""Slack's side of ``bench.burst``, in a process of its own: the Web API
stand-in and the eight senders. Kept out of the bot's process so that what
the benchmark times is the bot's work, not Slack's sharing the bot's
interpreter.

Protocol on stdin/stdout, one line each: it prints ``READY <api base url>``;
reads ``GO <bot port> <count>``; fires ``count`` signed mentions, waits for
as many replies, and prints ``DONE <json>`` with the send start, each
acknowledgement's duration and end, and each reply's arrival (all
``time.perf_counter``, which is system-wide monotonic on Linux).
"""

from __future__ import annotations

import json
import sys
import threading
import time
from http.client import HTTPConnection

from bench.bot import OPENERS
from faq_core.faqs import load_faqs
from faq_core.sample import sample_source
from tests.stubs.slack_api import BOT_USER_ID, SlackAPIStub
from tests.stubs.slack_payloads import mention, signed_event

SENDERS = 8
EVENTS_PATH = "/slack/events"


def questions(count: int, first: int = 0) -> list[str]:
    """``count`` distinct, realistic questions (no cache hits): the sample's
    FAQ questions, reworded and numbered from ``first``."""
    faqs = [faq.question for faq in load_faqs(sample_source())]
    return [f"{OPENERS[n % len(OPENERS)]}{faqs[n % len(faqs)].lower()} (burst {n})"
            for n in range(first, first + count)]


def main() -> int:
    """Serve the stand-in, fire the burst when told, report the timings."""
    with SlackAPIStub() as slack:
        print(f"READY {slack.base_url}", flush=True)
        _, port, count = sys.stdin.readline().split()
        total = int(count)
        events = [mention(f"<@{BOT_USER_ID}> {q}") for q in questions(total)]
        requests = [signed_event(event) for event in events]
        acks: list[float] = []
        acked_at: dict[str, float] = {}
        lock = threading.Lock()

        def sender(share: list[int]) -> None:
            connection = HTTPConnection("127.0.0.1", int(port), timeout=30)
            for n in share:
                began = time.perf_counter()
                connection.request("POST", EVENTS_PATH, body=requests[n].body, headers=requests[n].headers)
                response = connection.getresponse()
                response.read()
                if response.status != 200:
                    raise RuntimeError(f"the bot answered {response.status}")
                ended = time.perf_counter()
                with lock:
                    acks.append(ended - began)
                    acked_at[events[n]["event"]["ts"]] = ended
            connection.close()

        threads = [threading.Thread(target=sender, args=(list(range(i, total, SENDERS)),)) for i in range(SENDERS)]
        start = time.perf_counter()
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        calls = slack.wait_for(lambda calls: sum(c.method == "chat.postMessage" for c in calls) >= total,
                               timeout=900)
        posts = [[c.params.get("thread_ts"), c.at] for c in calls if c.method == "chat.postMessage"]
        print("DONE " + json.dumps({"start": start, "acks": acks, "acked_at": acked_at, "posts": posts}), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
