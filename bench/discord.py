"""Discord bot latency, over real sockets against the Discord stand-in.

The real pieces: discord.py's client on the Gateway stand-in, the durable
intake and its workers, the local model on the bundled sample. Measured, one
interaction at a time (every question different, no cache hits):

- ``/faq`` → deferred acknowledgement (callback type 5) and → the answer
  (the edit of the deferred response), p50/p99, against the plain
  ``engine.answer`` latency of a different question right after each one
  as the baseline (interleaved, so both see the same load);
- autocomplete over a 10,000-FAQ index (realistic, varied texts): the
  in-memory match alone, p50/p99, with the 13-FAQ sample as the baseline,
  and end to end (interaction → type 8 callback), against Discord's 3 s.
"""

from __future__ import annotations

import random
import shutil
import threading
import time
from pathlib import Path

import numpy as np

from bench.bot import OPENERS
from bench.common import percentile, table
from bot.discord.app import DiscordBot
from bot.discord.settings import DiscordSettings
from bot.discord.suggest import Suggester, words
from bot.store.database import Store
from faq_core.embedders import LocalEmbedder
from faq_core.engine import FAQEngine
from faq_core.faqs import FAQ
from faq_core.index import FAQIndex, IndexMeta
from faq_core.sample import sample_index
from faq_core.settings import DEFAULT_MODEL
from tests.discord.conftest import RunningBot
from tests.stubs import discord_payloads as P
from tests.stubs.discord_standin import DiscordStandIn, use_api

WORK = Path(__file__).resolve().parent / ".work" / "discord"
COMMANDS = 40
TYPED = 2000
LARGE = 10_000
CALLBACK = r"/interactions/\d+/[^/]+/callback"
ORIGINAL = rf"/webhooks/{P.APPLICATION_ID}/[^/]+/messages/@original"


def large_index(sample: FAQIndex, n: int = LARGE, seed: int = 11) -> FAQIndex:
    """``n`` FAQs with varied, realistic texts (the sample's phrasings mixed
    with words of its answers), three phrasings each; the vectors are
    placeholders (autocomplete reads only the texts)."""
    rng = random.Random(seed)
    vocabulary = sorted({w for faq in sample.faqs for w in words(f"{faq.question} {faq.answer or ''}") if len(w) > 3})
    phrasings = sample.texts
    faqs = []
    for i in range(n):
        extra = " ".join(rng.sample(vocabulary, 3))
        faqs.append(FAQ(f"faq-{i}", f"{rng.choice(phrasings).rstrip('?')} {extra}?", answer=f"Answer {i}.",
                        alternates=tuple(f"{rng.choice(phrasings).rstrip('?')} {' '.join(rng.sample(vocabulary, 2))}?"
                                         for _ in range(2))))
    texts = [t for faq in faqs for t in faq.phrasings]
    owner = np.repeat(np.arange(n), 3)
    vectors = np.ones((len(texts), 4), dtype=np.float32) / 2
    meta = IndexMeta(model_id="synthetic/texts-only", dim=4, faq_count=n, phrasing_count=len(texts))
    return FAQIndex(faqs, texts, vectors, owner, meta)


def typed_prefixes(index: FAQIndex, count: int, seed: int = 5) -> list[str]:
    """What people type: the start of a phrasing, cut anywhere after 3 characters."""
    rng = random.Random(seed)
    texts = index.texts
    return [text[:rng.randint(3, len(text))] for text in (rng.choice(texts) for _ in range(count))]


def _ms(samples: list[float], q: float) -> float:
    return percentile(samples, q) * 1000


def suggest_times(suggester: Suggester, typed: list[str]) -> list[float]:
    samples = []
    for text in typed:
        started = time.perf_counter()
        suggester.suggest(text)
        samples.append(time.perf_counter() - started)
    return samples


def suggest_times_while_rebuilding(suggester: Suggester, index: FAQIndex, typed: list[str]) -> list[float]:
    """Autocomplete timings while another thread rebuilds the suggestions over
    and over, as the reloader does beside the serving ones for a new revision."""
    stop = threading.Event()

    def rebuild() -> None:
        while not stop.is_set():
            Suggester(index)

    builder = threading.Thread(target=rebuild, daemon=True)
    builder.start()
    try:
        return suggest_times(suggester, typed)
    finally:
        stop.set()
        builder.join()


def run() -> None:
    print("\n## Discord bot: /faq and autocomplete over the stand-in")
    shutil.rmtree(WORK, ignore_errors=True)
    WORK.mkdir(parents=True)
    embedder = LocalEmbedder(DEFAULT_MODEL)
    sample = sample_index(embedder, WORK / "cache")
    engine = FAQEngine(sample, embedder)
    questions = [f"{OPENERS[n % len(OPENERS)]}{sample.texts[n % len(sample.texts)].lower()} (discord {n})"
                 for n in range(COMMANDS * 2)]
    big = large_index(sample)
    small_times = suggest_times(Suggester(sample), typed_prefixes(sample, TYPED))
    started = time.perf_counter()  # what a reload to a 10,000-FAQ revision adds, on the reloader thread
    big_suggester = Suggester(big)
    rebuild = time.perf_counter() - started
    big_times = suggest_times(big_suggester, typed_prefixes(big, TYPED))
    during_reload = suggest_times_while_rebuilding(big_suggester, big, typed_prefixes(big, TYPED))

    acks: list[float] = []
    answers: list[float] = []
    completions: list[float] = []
    engine_times: list[float] = []
    with DiscordStandIn() as standin, use_api(standin.api.base_url):
        settings = DiscordSettings(discord_bot_token=P.BOT_TOKEN, discord_api_url=standin.api.base_url,
                            database_url=f"sqlite:///{WORK / 'bench.db'}")
        store = Store(settings.database_url)
        running = RunningBot(DiscordBot(settings, engine, store, guild_ready_timeout=0.05)).wait_ready()
        try:
            for n, question in enumerate(questions[:COMMANDS]):
                sent = time.perf_counter()
                standin.interaction(P.slash_command("faq", {"question": question}))
                callback = standin.api.wait_calls("POST", CALLBACK, count=n + 1)[n]
                edit = standin.api.wait_calls("PATCH", ORIGINAL, count=n + 1)[n]
                acks.append(callback.at - sent)
                answers.append(edit.at - sent)
                started = time.perf_counter()  # the baseline, interleaved: the same load on this shared machine
                engine.answer(questions[COMMANDS + n])
                engine_times.append(time.perf_counter() - started)
            running.bot.client.suggestions = lambda: big_suggester  # autocomplete over the 10,000 FAQs
            before = len(standin.api.calls_to("POST", CALLBACK))
            for n, text in enumerate(typed_prefixes(big, 200, seed=9)):
                sent = time.perf_counter()
                standin.interaction(P.slash_command("faq", {"question": text}, focused="question"))
                call = standin.api.wait_calls("POST", CALLBACK, count=before + n + 1)[before + n]
                assert call.status == 200 and call.body["type"] == 8
                completions.append(call.at - sent)
        finally:
            running.stop()
            store.close()

    base = percentile(engine_times, 50)
    print(table(["step", "p50 ms", "p99 ms", "p50 / engine.answer p50"], [
        ["engine.answer (baseline)", _ms(engine_times, 50), _ms(engine_times, 99), 1.0],
        ["/faq → deferred ack", _ms(acks, 50), _ms(acks, 99), percentile(acks, 50) / base],
        ["/faq → answer (edit of the deferred response)", _ms(answers, 50), _ms(answers, 99),
         percentile(answers, 50) / base],
    ]))
    print(f"({COMMANDS} commands one at a time; deferred acks within Discord's 3 s: "
          f"{sum(a < 3.0 for a in acks)}/{len(acks)})")
    small_p99 = percentile(small_times, 99)
    print(table(["autocomplete", "p50 ms", "p99 ms", "p99 / 13-FAQ p99", "p99 / 3 s"], [
        [f"match only, {len(sample.faqs)} FAQs (baseline)", _ms(small_times, 50), _ms(small_times, 99), 1.0,
         small_p99 / 3.0],
        [f"match only, {LARGE:,} FAQs ({len(big.texts):,} texts)", _ms(big_times, 50), _ms(big_times, 99),
         percentile(big_times, 99) / small_p99, percentile(big_times, 99) / 3.0],
        [f"match only, {LARGE:,} FAQs, while a reload rebuilds them", _ms(during_reload, 50),
         _ms(during_reload, 99), percentile(during_reload, 99) / small_p99, percentile(during_reload, 99) / 3.0],
        [f"end to end (interaction → choices), {LARGE:,} FAQs", _ms(completions, 50), _ms(completions, 99),
         percentile(completions, 99) / small_p99, percentile(completions, 99) / 3.0],
    ]))
    print(f"({TYPED} typed prefixes in-process, 200 end to end; rebuilding the suggestions for a new "
          f"{LARGE:,}-FAQ revision, beside the serving ones before the swap: {rebuild:.2f} s)")


if __name__ == "__main__":
    run()
