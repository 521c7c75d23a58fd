"""FAQEngine: question in, :class:`~faq_core.answer.Answer` out.

The engine embeds the question (with a small LRU cache: colleagues ask the
same things), ranks the FAQs with a :class:`~faq_core.scoring.Scorer` (by
default the blend of best phrasing and FAQ centroid described in
``faq_core.scoring``), takes the top k with their readable match scores (the
first is the confidence, ``faq_core.confidence``), and decides: answered when
the confidence reaches the threshold, ambiguous ("one of these?") when only
the near-tied top two together reach it, else no match. The threshold is
``FAQ_MIN_SCORE``, else the index's labelled calibration, else its automatic
one (``faq_core.threshold``). Each match also carries the plain cosine of its
FAQ's best phrasing. It is safe to call from several threads at once.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from faq_core import blas, ranking
from faq_core.answer import Answer, Match, Outcome
from faq_core.confidence import is_ambiguous
from faq_core.embedders import Embedder, make_embedder
from faq_core.errors import HubUnreachableError
from faq_core.hub import DEFAULT_BRANCH, head_commit, is_commit_id
from faq_core.index import FAQIndex, is_hub_repo_id, load_index, served_index_name
from faq_core.observers import tell_each
from faq_core.sample import sample_index
from faq_core.scoring import Scorer, make_scorer
from faq_core.settings import Settings
from faq_core.threshold import AUTOMATIC, FROM_SETTING, method_of, method_words, resolve_threshold

log = logging.getLogger(__name__)

# Far beyond any real question; the model reads 256 word pieces at most anyway
# (the rest is truncated), and a bounded request never trips a 413.
MAX_QUERY_CHARS = 2000
# Questions scored per matrix product: bounds memory at (chunk x phrasings) floats.
SCORE_CHUNK = 256
# The stages a StageObserver hears about.
EMBED = "embed"
RANK = "rank"
StageObserver = Callable[[str, float, "BaseException | None"], None]


@dataclass(frozen=True)
class IndexInfo:
    """What a front end shows about the index being served.

    ``source`` is the location as configured (a local path: for the operator's
    log only); ``display_name`` is what may be shown to anyone; ``example``
    is a question of this index, for "ask me, e.g. ..." help; ``bundled_sample``
    says that no ``FAQ_INDEX`` is set and the Medicare sample is served."""

    source: str
    revision: str | None
    faq_count: int
    phrasing_count: int
    model_id: str
    backend: str
    threshold: float
    threshold_source: str = ""
    example: str = ""
    bundled_sample: bool = False
    threshold_method: str = ""  # how an automatic threshold was estimated, in words ("" for the others)
    duplicate_groups: tuple[tuple[str, ...], ...] = ()  # ids of near-duplicate FAQs, a group each

    @property
    def display_name(self) -> str:
        """The index as it may be shown to anyone (see :func:`~faq_core.index.served_index_name`)."""
        return served_index_name(self.source, self.revision, bundled_sample=self.bundled_sample)


def clean_query(text: str) -> tuple[str, bool]:
    """Collapse white space and cut overlong text; says whether it cut."""
    cleaned = " ".join(text.split())
    if len(cleaned) > MAX_QUERY_CHARS:
        return cleaned[:MAX_QUERY_CHARS], True
    return cleaned, False


class FAQEngine:
    """Ranks an :class:`FAQIndex` against questions embedded by an :class:`Embedder`."""

    def __init__(
        self,
        index: FAQIndex,
        embedder: Embedder,
        *,
        min_score: float | None = None,
        cache_size: int = 512,
        scoring: str | Scorer = "blend",
    ) -> None:
        """``scoring`` names a scorer of ``faq_core.scoring`` (``blend``, the
        default, or the plain ``nearest``), or is one already built for ``index``."""
        index.check_compatible(embedder)
        self.index = index
        self.embedder = embedder
        self.scorer: Scorer = scoring if isinstance(scoring, Scorer) else make_scorer(index, scoring)
        if min_score is not None:
            self.threshold, self.threshold_source = float(min_score), FROM_SETTING
        else:
            self.threshold, self.threshold_source = resolve_threshold(index, self.scorer)
        self._cache: OrderedDict[str, np.ndarray] = OrderedDict()
        self._cache_size = cache_size
        self._lock = threading.Lock()
        # Told (stage, seconds, error or None) after each embedding call and each ranking: metrics,
        # and the readiness check that trusts a recent real embedding over a probe of its own.
        self.stage_observers: list[StageObserver] = []

    def _tell(self, stage: str, seconds: float, error: BaseException | None = None) -> None:
        tell_each(self.stage_observers, stage, seconds, error, log=log, what="a stage observer")

    @property
    def info(self) -> IndexInfo:
        """Index facts for logs, the App Home tab and ``--json`` output."""
        return IndexInfo(
            source=self.index.location,
            revision=self.index.revision,
            faq_count=len(self.index.faqs),
            phrasing_count=len(self.index.texts),
            model_id=self.index.meta.model_id,
            backend=self.embedder.backend,
            threshold=self.threshold,
            threshold_source=self.threshold_source,
            example=self.index.faqs[0].question,
            bundled_sample=self.index.bundled_sample,
            threshold_method=(method_words(method_of(self.index, self.scorer))
                              if self.threshold_source == AUTOMATIC else ""),
            duplicate_groups=self.duplicate_groups,
        )

    @property
    def duplicate_groups(self) -> tuple[tuple[str, ...], ...]:
        """The ids of near-duplicate FAQs the scorer found, one tuple per group
        (largest first); () when it does not look for them."""
        found = self.scorer.duplicates
        if found is None:
            return ()
        return tuple(tuple(self.index.faqs[f].id for f in group) for group in found.groups)

    def answer(self, text: str, k: int = 3) -> Answer:
        """Answer one question. Raises ``EmbeddingError`` if the service fails."""
        return self.answer_many([text], k)[0]

    def answer_many(self, texts: Sequence[str], k: int = 3) -> list[Answer]:
        """Answer several questions with one embedding call and one matrix product."""
        cleaned = [clean_query(t) for t in texts]
        asked = [i for i, (query, _) in enumerate(cleaned) if query]
        vectors = self._embed([cleaned[i][0] for i in asked])
        answers: list[Answer] = [
            Answer(query=query, matches=(), outcome=Outcome.EMPTY_QUERY, confidence=0.0,
                   threshold=self.threshold, truncated=cut, threshold_source=self.threshold_source)
            for query, cut in cleaned
        ]
        if not asked:
            return answers
        for first in range(0, len(asked), SCORE_CHUNK):
            chunk = vectors[first : first + SCORE_CHUNK]
            started = time.perf_counter()
            with blas.few_queries(len(chunk), len(self.index.vectors)):
                scores = self.scorer.rank_scores(chunk)
            self._tell(RANK, time.perf_counter() - started)
            for row, i in enumerate(asked[first : first + SCORE_CHUNK]):
                query, cut = cleaned[i]
                answers[i] = self._answer_from_scores(query, cut, chunk[row], scores[row], k)
        return answers

    def _answer_from_scores(
        self, query: str, cut: bool, vector: np.ndarray, scores: np.ndarray, k: int
    ) -> Answer:
        top = ranking.top_k(scores, max(k, 2))  # the runner-up decides ambiguity even when k = 1
        readable = self.scorer.match_scores(vector, scores, top)
        confidence = float(readable[0])
        if confidence >= self.threshold:
            outcome = Outcome.ANSWERED
        elif (self.scorer.shares_scores and len(top) > 1
              and is_ambiguous(confidence, float(readable[1]), self.threshold)):
            outcome = Outcome.AMBIGUOUS
        else:
            outcome = Outcome.NO_MATCH
        shown = max(k, 2) if outcome is Outcome.AMBIGUOUS else k  # both contenders, even with k = 1
        matches = tuple(self._match(vector, int(faq), float(score))
                        for faq, score in zip(top[:shown], readable[:shown], strict=True))
        return Answer(query=query, matches=matches, outcome=outcome, confidence=confidence,
                      threshold=self.threshold, truncated=cut, threshold_source=self.threshold_source)

    def _match(self, vector: np.ndarray, faq_pos: int, score: float) -> Match:
        """The FAQ with its readable score and the plain cosine of its best
        phrasing (only its own rows are scored)."""
        row, cosine = ranking.best_phrasing(self.index.vectors, self.index.starts, self.index.ends, faq_pos, vector)
        faq = self.index.faqs[faq_pos]
        return Match(
            faq_id=faq.id, question=faq.question, answer=faq.answer, url=faq.url,
            score=score, matched_text=self.index.texts[row], tags=faq.tags, cosine=cosine,
        )

    def recent_vector(self, query: str) -> np.ndarray | None:
        """The vector of ``query`` (an :attr:`Answer.query`) if it was embedded
        recently, else None; never embeds. Lets the bot record a question's
        vector with it (the review loop clusters those) at no extra cost."""
        with self._lock:
            vector = self._cache.get(query)
        return None if vector is None else vector.copy()

    def _embed(self, queries: list[str]) -> np.ndarray:
        """Embed with the LRU cache: only texts not seen recently reach the backend."""
        dim = self.index.dim
        out = np.empty((len(queries), dim), dtype=np.float32)
        missing: dict[str, list[int]] = {}
        with self._lock:
            for i, query in enumerate(queries):
                vector = self._cache.get(query)
                if vector is None:
                    missing.setdefault(query, []).append(i)
                else:
                    self._cache.move_to_end(query)
                    out[i] = vector
        if missing:
            started = time.perf_counter()
            try:
                fresh = self.embedder.embed(list(missing))
            except BaseException as error:
                self._tell(EMBED, time.perf_counter() - started, error)
                raise
            self._tell(EMBED, time.perf_counter() - started)
            self.index.check_compatible(self.embedder)  # the first reply tells an unknown model's dimension
            with self._lock:
                for (query, rows), vector in zip(missing.items(), fresh, strict=True):
                    out[rows] = vector
                    self._cache[query] = vector
                    self._cache.move_to_end(query)
                while len(self._cache) > self._cache_size:
                    self._cache.popitem(last=False)
        return out


def load_configured_index(settings: Settings, embedder: Embedder) -> FAQIndex:
    """``FAQ_INDEX`` (local folder or Hub ``user/name`` at ``FAQ_INDEX_REVISION``),
    or, with none set, the bundled sample built with ``embedder`` and cached.
    A Hub branch is resolved to its commit first, so the index says exactly
    which revision it is (the reloader compares commits); when the Hub cannot
    say, the branch is loaded as the Hub cache has it."""
    if settings.faq_index:
        revision = settings.faq_index_revision
        if is_hub_repo_id(settings.faq_index) and not is_commit_id(revision):
            try:
                revision = head_commit(settings.faq_index, revision or DEFAULT_BRANCH, token=settings.hf_token,
                                       endpoint=settings.hf_endpoint)
            except HubUnreachableError as error:
                log.info("loading %s as the Hub cache has it: %s", settings.faq_index, error)
                return load_index(settings.faq_index, revision, endpoint=settings.hf_endpoint, hub_error=error)
        return load_index(settings.faq_index, revision, endpoint=settings.hf_endpoint)
    return sample_index(embedder, settings.faq_cache_dir)


def build_engine(settings: Settings) -> FAQEngine:
    """The engine the settings describe: the configured embedder and index."""
    embedder = make_embedder(settings)
    index = load_configured_index(settings, embedder)
    engine = FAQEngine(index, embedder, min_score=settings.faq_min_score)
    info = engine.info
    if info.bundled_sample:
        log.warning(
            "FAQ_INDEX is not set: serving %s (%d FAQs about Medicare), not your own FAQs. Build an index with "
            "'faq-bot index build FAQS.csv --out DIR' and set FAQ_INDEX=DIR (or a Hub dataset user/name)",
            info.display_name, info.faq_count,
        )
    log.info(
        "serving FAQ index %s from %s (revision %s): %d FAQs, %d phrasings, model %s, threshold %.3f (%s)",
        info.display_name, info.source, info.revision or "latest", info.faq_count, info.phrasing_count,
        info.model_id, info.threshold, info.threshold_source,
    )
    return engine
