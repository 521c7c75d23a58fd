"""What the bot counts and times, in Prometheus form (``GET /metrics``).

One :class:`Metrics` per process, platform-neutral: a platform's start-up
creates it and plugs it into the hooks the rest of the code already has:

- the Answerer's observers (:meth:`Metrics.answered`): questions by platform
  and outcome (answered / abstained / ambiguous / error / empty), the
  confidence of every answer, and the time from question to answer;
- the engine's stage observers (:meth:`Metrics.stage`): time spent embedding
  and ranking, and embedding errors by kind;
- the workers' outcome hook (:meth:`Metrics.worked`): the time from an event's
  arrival to its reply being sent, and intake outcomes (done / retry / failed);
- :meth:`Metrics.api_error` for a platform's API errors by kind, and
  :meth:`Metrics.vote` for "Helpful" / "Not helpful";
- at scrape time: the intake's depth (pending rows) and which index is served
  (after a reload, the new one).

Each ``Metrics`` has its own registry (not prometheus_client's global one), so
tests and several bots in one process never mix their numbers. No label ever
holds a question, a user id, a channel or a secret: only small fixed sets.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Gauge, Histogram, Info, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector

from bot.conversation.answering import ERROR, Answered, Answerer
from bot.serving.holder import ServingEngine
from bot.serving.refs import parse_ref
from bot.serving.registry import EngineRegistry
from bot.store.intake import Intake
from faq_core.answer import Outcome
from faq_core.engine import EMBED, RANK, IndexInfo

log = logging.getLogger(__name__)

CONTENT_TYPE = CONTENT_TYPE_LATEST
# Outcomes as operators name them: the engine's NO_MATCH is the bot abstaining.
OUTCOME_NAMES = {str(Outcome.ANSWERED): "answered", str(Outcome.NO_MATCH): "abstained",
                 str(Outcome.AMBIGUOUS): "ambiguous", str(Outcome.EMPTY_QUERY): "empty", ERROR: "error"}
CONFIDENCE_BUCKETS = (0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0)
# Local embedding takes milliseconds, a remote service tens to hundreds; a reply through Slack up to seconds.
FAST_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
REPLY_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0)


class Metrics:
    """The bot's metrics and the hooks that feed them."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry or CollectorRegistry()
        r = self.registry
        self.questions = Counter("faq_bot_questions", "Questions, by platform and outcome",
                                 ["platform", "outcome"], registry=r)
        self.confidence = Histogram("faq_bot_answer_confidence", "Confidence (0..1) of the best match of each answer",
                                    buckets=CONFIDENCE_BUCKETS, registry=r)
        self.answer_seconds = Histogram("faq_bot_answer_seconds", "Question to answer (embedding, ranking, waiting "
                                        "for a batch)", ["platform"], buckets=FAST_BUCKETS, registry=r)
        self.embedding_seconds = Histogram("faq_bot_embedding_seconds", "One call to the embedding model or service",
                                           buckets=FAST_BUCKETS, registry=r)
        self.ranking_seconds = Histogram("faq_bot_ranking_seconds", "Ranking the FAQs for one batch of questions",
                                         buckets=FAST_BUCKETS, registry=r)
        self.reply_seconds = Histogram("faq_bot_reply_seconds", "An event's arrival to its reply being sent",
                                       ["kind"], buckets=REPLY_BUCKETS, registry=r)
        self.embedding_errors = Counter("faq_bot_embedding_errors", "Failed embedding calls, by kind",
                                        ["kind"], registry=r)
        self.api_errors = Counter("faq_bot_platform_api_errors", "Errors from a chat platform's API, by kind",
                                  ["platform", "kind"], registry=r)
        self.intake_outcomes = Counter("faq_bot_intake_outcomes", "Intake rows worked on, by outcome",
                                       ["outcome"], registry=r)
        self.votes = Counter("faq_bot_votes", "Feedback votes, by platform and vote", ["platform", "vote"], registry=r)
        self.intake_depth = Gauge("faq_bot_intake_depth", "Intake rows waiting or being worked on (all replicas)",
                                  registry=r)
        self.index = Info("faq_bot_index", "The FAQ index being served", registry=r)
        self.intake_depth.set_function(lambda: float("nan"))
        self._info: Callable[[], IndexInfo] | None = None

    # -- hooks ------------------------------------------------------------------
    def answered(self, answered: Answered) -> None:
        """The Answerer's observer: one question and what became of it."""
        platform = answered.asked.platform
        self.questions.labels(platform, OUTCOME_NAMES.get(answered.outcome, answered.outcome)).inc()
        if answered.answer is not None and answered.answer.matches:
            self.confidence.observe(answered.answer.confidence)
        if answered.outcome != str(Outcome.EMPTY_QUERY) and answered.question:
            self.answer_seconds.labels(platform).observe(answered.seconds)

    def stage(self, stage: str, seconds: float, error: BaseException | None) -> None:
        """The engine's stage observer: embedding and ranking times, embedding errors."""
        if stage == EMBED:
            self.embedding_seconds.observe(seconds)
            if error is not None:
                self.embedding_errors.labels(type(error).__name__).inc()
        elif stage == RANK:
            self.ranking_seconds.observe(seconds)

    def worked(self, kind: str, received_at: float, outcome: str) -> None:
        """The workers' hook: an intake row finished (``done``), will be retried or was set aside."""
        self.intake_outcomes.labels(outcome).inc()
        if outcome == "done":
            self.reply_seconds.labels(kind).observe(max(time.time() - received_at, 0.0))

    def api_error(self, platform: str, kind: str) -> None:
        """A platform API call failed (``kind``: the platform's error code, or the exception's type)."""
        self.api_errors.labels(platform, kind).inc()

    def vote(self, platform: str, vote: str) -> None:
        """A feedback vote was recorded."""
        self.votes.labels(platform, vote).inc()

    # -- read at scrape time ---------------------------------------------------
    def watch_intake(self, pending: Callable[[], int]) -> None:
        """Report ``pending()`` as the intake depth at every scrape (NaN while the store does not answer)."""
        def depth() -> float:
            try:
                return float(pending())
            except Exception as error:
                log.debug("intake depth unavailable: %s", type(error).__name__)
                return float("nan")
        self.intake_depth.set_function(depth)

    def serving(self, info: Callable[[], IndexInfo]) -> None:
        """Report ``info()`` (which index is served, at which revision, with which
        model; no local paths) at every scrape, so a reload shows at once."""
        self._info = info

    def watch_engines(self, engines: EngineRegistry) -> None:
        """Report the indexes ``engines`` holds at every scrape: each one's
        state, revision and size, the budget, and the loads and evictions so far."""
        self.registry.register(_EnginesCollector(engines))

    def plug(self, answerer: Answerer, engine: ServingEngine, intake: Intake) -> Callable[[], None]:
        """Count what ``answerer`` answers, time ``engine``'s stages, report
        ``intake``'s depth and the index ``engine`` serves: what every platform
        plugs in (each adds its own API-error hook). Returns the unplugging of
        the engine's hook, which the bot must call when it stops: the engine
        may outlive it."""
        answerer.observers.append(self.answered)
        engine.stage_observers.append(self.stage)
        self.watch_intake(intake.pending)
        self.serving(lambda: engine.info)

        def unplug() -> None:
            if self.stage in engine.stage_observers:
                engine.stage_observers.remove(self.stage)

        return unplug

    def render(self) -> bytes:
        """The Prometheus text exposition of every metric."""
        if self._info is not None:
            info = self._info()
            self.index.info({"name": info.display_name, "revision": info.revision or "latest",
                             "model": info.model_id, "backend": info.backend, "faqs": str(info.faq_count)})
        return generate_latest(self.registry)


def index_label(ref: str) -> str:
    """An index as a metric label: a Hub reference as it is, a local folder by its name (no local paths)."""
    parsed = parse_ref(ref)
    return ref if parsed.hub else "folder:" + parsed.location.rstrip("/").rsplit("/", 1)[-1]


class _EnginesCollector(Collector):
    """The engine registry, read at scrape time."""

    def __init__(self, engines: EngineRegistry) -> None:
        self.engines = engines

    def collect(self):  # type: ignore[no-untyped-def]
        states = self.engines.states()
        state = GaugeMetricFamily("faq_bot_index_state", "Indexes served for routes: 1 in the state named",
                                  labels=["index", "state", "revision"])
        size = GaugeMetricFamily("faq_bot_index_memory_bytes", "Estimated memory of each loaded index",
                                 labels=["index"])
        for found in states:
            state.add_metric([index_label(found.ref), found.state, found.revision or ""], 1.0)
            if found.state == "loaded":
                size.add_metric([index_label(found.ref)], float(found.size_bytes))
        yield state
        yield size
        yield GaugeMetricFamily("faq_bot_index_memory_budget_bytes", "FAQ_MEMORY_BUDGET_MB, in bytes",
                                value=float(self.engines.budget_bytes))
        counts = self.engines.counts
        yield CounterMetricFamily("faq_bot_index_loads", "Indexes loaded on first use or after an eviction",
                                  value=counts.loads)
        yield CounterMetricFamily("faq_bot_index_evictions", "Indexes evicted to stay within the memory budget",
                                  value=counts.evictions)
        yield CounterMetricFamily("faq_bot_index_load_failures", "Indexes that could not be loaded",
                                  value=counts.failures)
