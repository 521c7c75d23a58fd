"""From recorded questions to ranked clusters of misses with a suggestion each.

A *miss* is a recorded question (with text, in the window, not decided yet)
that the bot did not answer well: it abstained or offered a near-tie, someone
voted its answer not helpful, or the asker picked a "Did you mean…?" FAQ other
than the one answered. Misses are deduplicated by normalised text (a question
asked 40 times is clustered once, weighing 40), clustered by the vectors the
engine made when answering them (recorded with each question; texts without
one are embedded now), and ranked by how many people asked, then how recently.

Each cluster carries a suggestion: "add as a phrasing of FAQ X" when askers
picked X (the most picked), or when its questions' centroid is close to X's
phrasings; otherwise "new FAQ". :func:`review` is the one entry point, for
the CLI and the Slack App Home alike; a :class:`Cluster`'s ``id`` and
``texts`` are what :mod:`bot.features.review.decisions` takes.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
from sqlalchemy import func, select

from bot.features.recording import PickRow, QuestionRow, text_key, unpack_vector
from bot.features.review.clustering import BLOCK_FLOATS, DEFAULT_THRESHOLD, centroids_of, cluster_vectors
from bot.features.review.decisions import DISMISS, decided_keys, decisions
from bot.store.database import Feedback, Store
from bot.store.scoping import Scope
from faq_core.answer import Outcome
from faq_core.engine import FAQEngine
from faq_core.index import FAQIndex

log = logging.getLogger(__name__)

DEFAULT_DAYS = 30.0
# Say so in the log when the review has to embed more questions than this.
EMBED_NOTICE = 1000
# A cluster whose centroid is at least this similar (raw cosine) to an FAQ's
# best phrasing is suggested as phrasings of it; below, as a new FAQ.
PHRASING_FLOOR = 0.6
EXAMPLES = 5
# A miss this similar (cosine) to a dismissed question counts as the same
# question reworded, and stays dismissed too.
DISMISSED_SIMILARITY = 0.9
# Miss reasons, as shown
ABSTAINED, AMBIGUOUS, NOT_HELPFUL, PICKED_OTHER = "abstained", "near-tie", "not helpful", "picked another FAQ"
PHRASING, NEW_FAQ = "phrasing", "new"
_ID_CHUNK = 500


@dataclass
class Miss:
    """One distinct missed question (normalised text), over all its askings."""

    key: str
    text: str
    asked: int = 0
    askers: set[str] = field(default_factory=set)
    anonymous: int = 0  # askings without a known asker (each counted as a person)
    first_asked: datetime | None = None
    last_asked: datetime | None = None
    reasons: Counter[str] = field(default_factory=Counter)
    picked: Counter[str] = field(default_factory=Counter)
    vector_row: int | None = None  # a questions.id whose vector (under the engine's model) stands for it

    @property
    def people(self) -> int:
        """How many people asked it (askings without an asker count one each)."""
        return len(self.askers) + self.anonymous


@dataclass(frozen=True)
class Suggestion:
    """What to do with a cluster: ``kind`` is ``phrasing`` (of ``faq_id``) or ``new``."""

    kind: str
    faq_id: str | None = None
    faq_question: str | None = None
    why: str = ""

    def describe(self) -> str:
        """One line for people."""
        if self.kind == PHRASING:
            return f"add as phrasing of {self.faq_id} ({self.why})"
        return f"new FAQ ({self.why})" if self.why else "new FAQ"


@dataclass(frozen=True)
class ExampleQuestion:
    """A question of a cluster with how often and by how many it was asked: a
    cluster's examples, and each top cluster in the digest."""

    text: str
    asked: int
    people: int


@dataclass(frozen=True)
class Cluster:
    """Similar missed questions, ranked by ``people`` then ``last_asked``.

    ``id`` is stable while the cluster's oldest question stays in it (what a
    decision names); ``texts`` are all its distinct questions, most asked
    first; ``examples`` the first few with counts."""

    id: str
    texts: tuple[str, ...]
    examples: tuple[ExampleQuestion, ...]
    asked: int
    people: int
    first_asked: datetime | None
    last_asked: datetime | None
    reasons: dict[str, int]
    suggestion: Suggestion

    def to_dict(self) -> dict[str, Any]:
        """The JSON shape of ``faq-bot review --format jsonl``."""
        return {
            "cluster": self.id, "people": self.people, "asked": self.asked,
            "last_asked": self.last_asked.isoformat() if self.last_asked else None,
            "first_asked": self.first_asked.isoformat() if self.first_asked else None,
            "reasons": self.reasons, "suggestion": self.suggestion.kind,
            "faq_id": self.suggestion.faq_id, "faq_question": self.suggestion.faq_question,
            "why": self.suggestion.why, "questions": list(self.texts),
            "examples": [{"text": e.text, "asked": e.asked, "people": e.people} for e in self.examples],
        }


def _aware(moment: datetime) -> datetime:
    """SQLite gives back naive datetimes (stored as UTC)."""
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _chunks(items: Sequence[int], size: int = _ID_CHUNK) -> Iterator[Sequence[int]]:
    for start in range(0, len(items), size):
        yield items[start:start + size]


def gather_misses(store: Store, *, days: float = DEFAULT_DAYS, model: str | None = None,
                  now: datetime | None = None, scope: Scope | None = None) -> list[Miss]:
    """The distinct missed questions of the last ``days`` not yet decided, in
    order of first asking, within ``scope`` (its questions, votes, picks and
    decisions only; None: every tenant's). ``model`` names whose recorded
    vectors may stand in."""
    since = (now or datetime.now(UTC)) - timedelta(days=days)

    def scoped(query: Any, model: Any) -> Any:
        return query if scope is None else query.where(scope.where(model))

    with store.engine.connect() as connection:
        not_helpful = set(connection.scalars(scoped(select(Feedback.answer_id).where(Feedback.vote == "not_helpful"),
                                                    Feedback)))
        picks: dict[str, list[str]] = {}
        for answer_id, faq_id in connection.execute(scoped(select(PickRow.answer_id, PickRow.faq_id), PickRow)):
            picks.setdefault(answer_id, []).append(faq_id)
        rows = connection.execute(scoped(
            select(QuestionRow.id, QuestionRow.text, QuestionRow.asked_at, QuestionRow.asker, QuestionRow.outcome,
                   QuestionRow.faq_id, QuestionRow.answer_id, QuestionRow.model)
            .where(QuestionRow.asked_at >= since, QuestionRow.text.is_not(None))
            .order_by(QuestionRow.id), QuestionRow)).all()
    decided = decided_keys(store, scope)
    misses: dict[str, Miss] = {}
    for row in rows:
        chosen = picks.get(row.answer_id or "", []) if row.answer_id else []
        reasons = []
        if row.outcome == Outcome.NO_MATCH.value:
            reasons.append(ABSTAINED)
        elif row.outcome == Outcome.AMBIGUOUS.value:
            reasons.append(AMBIGUOUS)
        if row.answer_id in not_helpful:
            reasons.append(NOT_HELPFUL)
        if row.outcome == Outcome.ANSWERED.value and any(faq != row.faq_id for faq in chosen):
            reasons.append(PICKED_OTHER)
        if not reasons or not (row.text or "").strip():
            continue
        key = text_key(row.text)
        if key in decided:
            continue
        miss = misses.get(key)
        if miss is None:
            miss = misses[key] = Miss(key=key, text=row.text.strip())
        asked_at = _aware(row.asked_at)
        miss.asked += 1
        if row.asker:
            miss.askers.add(row.asker)
        else:
            miss.anonymous += 1
        miss.first_asked = min(miss.first_asked or asked_at, asked_at)
        if miss.last_asked is None or asked_at >= miss.last_asked:
            miss.last_asked, miss.text = asked_at, row.text.strip()
        miss.reasons.update(reasons)
        miss.picked.update(chosen)
        if miss.vector_row is None and model is not None and row.model == model:
            miss.vector_row = row.id
    return list(misses.values())


def textless_misses(store: Store, *, days: float = DEFAULT_DAYS, now: datetime | None = None,
                    scope: Scope | None = None) -> int:
    """Abstentions and near-ties of the last ``days`` within ``scope`` recorded
    without text (``FAQ_RECORD_TEXT=false``, or blanked after the retention period)."""
    since = (now or datetime.now(UTC)) - timedelta(days=days)
    query = (select(func.count()).select_from(QuestionRow)
             .where(QuestionRow.asked_at >= since, QuestionRow.text.is_(None),
                    QuestionRow.outcome.in_([Outcome.NO_MATCH.value, Outcome.AMBIGUOUS.value])))
    if scope is not None:
        query = query.where(scope.where(QuestionRow))
    with store.engine.connect() as connection:
        return int(connection.scalar(query) or 0)


def miss_vectors(store: Store, misses: Sequence[Miss], engine: FAQEngine) -> np.ndarray:
    """Unit vectors of ``misses``: recorded ones where the engine's model made
    them, the rest embedded now (in the embedder's batches)."""
    dim = engine.index.dim
    out = np.zeros((len(misses), dim), dtype=np.float32)
    wanted = {m.vector_row: i for i, m in enumerate(misses) if m.vector_row is not None}
    found: set[int] = set()
    ids = list(wanted)
    with store.engine.connect() as connection:
        for chunk in _chunks(ids):
            for row_id, blob in connection.execute(select(QuestionRow.id, QuestionRow.vector)
                                                   .where(QuestionRow.id.in_(list(chunk)))):
                if blob is not None and len(blob) == 2 * dim:
                    out[wanted[row_id]] = unpack_vector(blob)
                    found.add(wanted[row_id])
    missing = [i for i in range(len(misses)) if i not in found]
    if len(missing) > EMBED_NOTICE:
        log.warning("embedding %d questions recorded without a vector of %s (a few hundred a second locally)",
                    len(missing), engine.index.meta.model_id)
    if missing:
        out[missing] = engine.embedder.embed([misses[i].text for i in missing])
    norms = np.linalg.norm(out, axis=1, keepdims=True)
    return out / np.where(norms == 0, 1.0, norms)


def best_faqs(index: FAQIndex, centroids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(FAQ position, cosine) of the FAQ whose best phrasing is closest to each centroid."""
    if len(centroids) == 0:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32)
    scores = centroids @ index.vectors.T  # clusters x phrasings: clusters are few
    per_faq = np.maximum.reduceat(scores, index.starts, axis=1)
    best = per_faq.argmax(axis=1)
    return best, per_faq[np.arange(len(best)), best]


def suggest(index: FAQIndex, picked: Counter[str], best_faq: int, cosine: float,
            floor: float = PHRASING_FLOOR) -> Suggestion:
    """The suggestion for one cluster: the most picked FAQ still in the index,
    else the closest FAQ if near enough, else a new FAQ."""
    for faq_id, times in picked.most_common():
        faq = index.faq_by_id(faq_id)
        if faq is not None:
            return Suggestion(PHRASING, faq.id, faq.question, f"picked {times}x from \"Did you mean\"")
    faq = index.faqs[best_faq]
    if cosine >= floor:
        return Suggestion(PHRASING, faq.id, faq.question, f"closest FAQ, similarity {cosine:.2f}")
    return Suggestion(NEW_FAQ, None, None, f"closest FAQ {faq.id} only {cosine:.2f}")


def _cluster_id(first: Miss) -> str:
    return hashlib.sha256(first.key.encode()).hexdigest()[:8]


def build_clusters(misses: Sequence[Miss], vectors: np.ndarray, index: FAQIndex, *,
                   threshold: float = DEFAULT_THRESHOLD, floor: float = PHRASING_FLOOR) -> list[Cluster]:
    """Cluster ``misses`` (with their unit ``vectors``), suggest and rank."""
    if not misses:
        return []
    labels = cluster_vectors(vectors, threshold=threshold, weights=np.array([m.asked for m in misses]))
    count = int(labels.max()) + 1
    best, cosine = best_faqs(index, centroids_of(vectors, labels, count))
    members: list[list[Miss]] = [[] for _ in range(count)]
    for miss, label in zip(misses, labels, strict=True):
        members[label].append(miss)
    clusters = []
    for label, group in enumerate(members):
        if not group:
            continue
        ordered = sorted(group, key=lambda m: (-m.asked, -m.people, m.text))
        askers: set[str] = set().union(*(m.askers for m in group))
        people = len(askers) + sum(m.anonymous for m in group)
        picked: Counter[str] = Counter()
        reasons: Counter[str] = Counter()
        for miss in group:
            picked.update(miss.picked)
            reasons.update(miss.reasons)
        firsts = [m.first_asked for m in group if m.first_asked]
        lasts = [m.last_asked for m in group if m.last_asked]
        oldest = min(group, key=lambda m: (m.first_asked or datetime.max.replace(tzinfo=UTC), m.key))
        clusters.append(Cluster(
            id=_cluster_id(oldest), texts=tuple(m.text for m in ordered),
            examples=tuple(ExampleQuestion(m.text, m.asked, m.people) for m in ordered[:EXAMPLES]),
            asked=sum(m.asked for m in group), people=people,
            first_asked=min(firsts) if firsts else None, last_asked=max(lasts) if lasts else None,
            reasons=dict(reasons.most_common()),
            suggestion=suggest(index, picked, int(best[label]), float(cosine[label]), floor)))
    epoch = datetime.min.replace(tzinfo=UTC)
    clusters.sort(key=lambda c: (-c.people, -(c.last_asked or epoch).timestamp(), -c.asked, c.id))
    return clusters


def near_dismissed(vectors: np.ndarray, dismissed: np.ndarray,
                   similarity: float = DISMISSED_SIMILARITY) -> np.ndarray:
    """Which rows of ``vectors`` are at least ``similarity`` close to a
    dismissed question's vector (chunked: both sides may be large)."""
    near = np.zeros(len(vectors), dtype=bool)
    if len(vectors) == 0 or len(dismissed) == 0:
        return near
    step = max(1, BLOCK_FLOATS // len(dismissed))
    for start in range(0, len(vectors), step):
        near[start:start + step] = (vectors[start:start + step] @ dismissed.T).max(axis=1) >= similarity
    return near


def review(store: Store, engine: FAQEngine, *, days: float = DEFAULT_DAYS,
           threshold: float = DEFAULT_THRESHOLD, now: datetime | None = None,
           scope: Scope | None = None) -> list[Cluster]:
    """The clusters of the last ``days`` of misses within ``scope`` (one
    tenant's; None: every tenant's) not yet decided, most people first. The
    one call a front end needs to show a review. Misses that reword a
    dismissed question (cosine >= :data:`DISMISSED_SIMILARITY`) stay out too."""
    misses = gather_misses(store, days=days, model=engine.index.meta.model_id, now=now, scope=scope)
    vectors = miss_vectors(store, misses, engine)
    dismissed = [text for decision in decisions(store, (DISMISS,), scope) for text in decision.texts]
    if misses and dismissed:
        keep = ~near_dismissed(vectors, engine.embedder.embed(dismissed))
        misses = [miss for miss, kept in zip(misses, keep, strict=True) if kept]
        vectors = vectors[keep]
    return build_clusters(misses, vectors, engine.index, threshold=threshold)


def find_cluster(clusters: Iterable[Cluster], cluster_id: str) -> Cluster | None:
    """The cluster with this id (or a unique prefix of it), or None."""
    wanted = cluster_id.strip().lower()
    found = [c for c in clusters if c.id.startswith(wanted)] if wanted else []
    return found[0] if len(found) == 1 else None


def as_jsonl(clusters: Iterable[Cluster]) -> Iterator[str]:
    """One JSON object per cluster."""
    for cluster in clusters:
        yield json.dumps(cluster.to_dict(), ensure_ascii=False)
