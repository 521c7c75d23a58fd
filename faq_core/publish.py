"""Publishing an index on the Hub: :func:`push_folder` (``faq-bot index push``)
uploads an index folder as one commit once it loads whole, and :func:`publish`
(``faq-bot publish SOURCE REPO_ID``) builds, gates and pushes:

1. Read every FAQ source (one or several), refusing the lot if one fails.
2. Fetch the revision ``main`` of ``REPO_ID`` serves now (none for a new repo),
   then build the index, with its automatic threshold; ``faq-bot sync``
   first keeps the review loop's phrasings (:mod:`faq_core.kept_phrasings`).
3. Redo the labelled calibration when the labelled questions include
   out-of-scope ones (``faq_id`` null) to calibrate on; otherwise the new
   index carries its automatic threshold, and a calibration of the previous
   revision is not carried over (it was chosen for other FAQs).
4. Gate (:func:`faq_core.revisions.gate`): the new index against the previous
   one on the labelled questions. A failure refuses the publish, nothing is
   pushed, unless ``force``, which the commit message then records.
5. Push the index as one commit whose message says what changed (or open a
   pull request with ``create_pr``), and hand back the commit to pin.

An unchanged source (same FAQs, same phrasings) pushes nothing. The labelled
questions the gate uses are the caller's to gather (the command line reads the
bot's store and any ``--queries`` file); this module knows no store.
"""

from __future__ import annotations

import logging
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from faq_core.embedders import Embedder, make_embedder
from faq_core.engine import FAQEngine
from faq_core.errors import FAQBotError, IndexLoadError, RepoNotFoundError
from faq_core.evaluation import DEFAULT_TARGET_ABSTENTION, LabelledQuery, calibrate
from faq_core.hub import DEFAULT_BRANCH, Pushed, head_commit, upload_folder
from faq_core.index import META_FILE, FAQIndex, build_index_from_sources, load_index, save_index
from faq_core.index_state import STATE
from faq_core.kept_phrasings import keep_phrasings
from faq_core.revisions import DEFAULT_MARGIN, GateResult, IndexDiff, diff_indexes, gate
from faq_core.settings import Settings
from faq_core.sources import HelpCenterAuth, SourceSet, load_sources
from faq_core.threshold import with_auto_threshold

log = logging.getLogger(__name__)

UPLOADED = ["README.md", META_FILE, "phrasings/*.parquet", "faqs/*.parquet", f"{STATE}/*"]


def push_index(folder: str | Path, repo_id: str, *, private: bool = False, token: str | None = None,
               api: Any = None, message: str | None = None) -> str:
    """Upload an index folder as a dataset repo; return the commit id.

    The folder is loaded first, so a broken index is refused before anything
    reaches the Hub. ``api`` defaults to ``huggingface_hub.HfApi(token=token)``.
    """
    return push_folder(folder, repo_id, private=private, token=token, api=api, message=message).commit


def push_folder(folder: str | Path, repo_id: str, *, private: bool = False, token: str | None = None,
                endpoint: str | None = None, api: Any = None, message: str | None = None,
                description: str = "", create_pr: bool = False) -> Pushed:
    """:func:`push_index` with a commit ``message`` and ``description`` of
    the caller's, to ``endpoint``, optionally as a pull request (``create_pr``)."""
    folder = Path(folder)
    if not (folder / META_FILE).is_file():
        raise IndexLoadError(f"{folder} is not an FAQ index folder (no {META_FILE})")
    index = load_index(folder)
    return upload_folder(folder, repo_id, patterns=UPLOADED, private=private, token=token, endpoint=endpoint,
                         api=api, description=description, create_pr=create_pr,
                         message=message or f"faq-bot index: {index.meta.faq_count} FAQs, {index.meta.model_id}")


@dataclass
class Publication:
    """What ``publish`` found and did. ``pushed`` is None when nothing was pushed
    (refused by the gate, or nothing changed)."""

    repo_id: str
    previous: str | None  # the commit main pointed at
    diff: IndexDiff
    gate: GateResult
    index: FAQIndex
    forced: bool = False
    pushed: Pushed | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def refused(self) -> bool:
        return not self.gate.passed and not self.forced

    def commit_message(self) -> str:
        """The commit's title: what changed, and a forced gate if it was."""
        forced = " (gate overridden with --force)" if self.forced and not self.gate.passed else ""
        return f"faq-bot publish: {self.diff.summary()}{forced}"

    def commit_description(self) -> str:
        """The commit's body: the source, the gate, the threshold, the full diff."""
        meta = self.index.meta
        threshold = (f"labelled calibration {meta.min_score:.4f}" if meta.min_score is not None
                     else f"automatic {meta.auto_threshold.get('threshold', float('nan')):.4f}"
                     if meta.auto_threshold else "automatic (estimated at load)")
        lines = [
            f"Source: {meta.source_name} (sha256 {meta.source_sha256[:16]})",
            f"Previous revision: {self.previous or 'none'}",
            f"Gate: {self.gate.summary()}",
            *(f"Gate failure overridden: {reason}" for reason in self.gate.reasons if self.forced),
            f"Threshold: {threshold}",
            "",
            *self.diff.lines()[:200],
        ]
        return "\n".join(lines)


def previous_index(repo_id: str, settings: Settings) -> tuple[str | None, FAQIndex | None]:
    """The commit ``main`` of ``repo_id`` points at and its index (None, None for a new repo)."""
    try:
        commit = head_commit(repo_id, DEFAULT_BRANCH, token=settings.hf_token, endpoint=settings.hf_endpoint)
    except RepoNotFoundError:
        return None, None
    return commit, load_index(repo_id, commit, endpoint=settings.hf_endpoint)


def _calibrated(index: FAQIndex, embedder: Embedder, labelled: Sequence[LabelledQuery],
                target: float) -> FAQIndex:
    """``index`` with a labelled calibration chosen on ``labelled``."""
    engine = FAQEngine(index, embedder, min_score=0.0)
    result = calibrate(engine, labelled, target)
    details = {**result.to_dict(), "calibration_file": "faq-bot publish (labelled questions)",
               "calibrated_at": datetime.now(UTC).isoformat(timespec="seconds")}
    index.meta = replace(index.meta, min_score=result.threshold, calibration=details)
    return index


def publish(sources: str | Path | Sequence[str | Path] | SourceSet, repo_id: str, settings: Settings,
            labelled: Sequence[LabelledQuery], *, margin: float = DEFAULT_MARGIN, force: bool = False,
            create_pr: bool = False, private: bool = False, embedder: Embedder | None = None,
            keep_review_phrasings: bool = False, accepted: Mapping[str, Sequence[str]] | None = None) -> Publication:
    """Build, gate and (unless refused or unchanged) push; see the module docstring.

    ``sources``: one or more FAQ sources (or a :class:`SourceSet` already read).
    ``keep_review_phrasings`` (``faq-bot sync``): FAQs of pages and exports keep
    the served revision's alternates and the ``accepted`` review phrasings
    (:mod:`faq_core.kept_phrasings`)."""
    if not settings.hf_token:
        raise FAQBotError("HF_TOKEN is not set: publishing to the Hub needs a token with write access")
    read = sources if isinstance(sources, SourceSet) else load_sources(
        [sources] if isinstance(sources, (str, Path)) else list(sources), auth=HelpCenterAuth.from_settings(settings))
    notes: list[str] = []
    try:  # before the slow build: a Hub that is down is one line at once
        previous, old_index = previous_index(repo_id, settings)
    except IndexLoadError as error:  # a broken revision on main: the new one may be its fix
        previous, old_index = None, None
        notes.append(f"the revision main serves cannot be loaded, so nothing is compared with it: {error}")
    if keep_review_phrasings:
        kept = keep_phrasings(read.faqs, read.tabular, old_index, accepted)
        read = replace(read, faqs=kept.faqs)
        notes += [line for line in (kept.summary(),) if line] + kept.notes
    embedder = embedder or make_embedder(settings)
    new_index = with_auto_threshold(build_index_from_sources(read, embedder))
    old_engine = None
    if old_index is not None:
        try:
            old_engine = FAQEngine(old_index, embedder, min_score=settings.faq_min_score)
        except FAQBotError as error:  # built with another model: nothing to compare with
            notes.append(f"the previous revision cannot be compared: {error}")
    out_of_scope = [q for q in labelled if q.faq_id is None]
    if out_of_scope and len(out_of_scope) < len(labelled):
        target = DEFAULT_TARGET_ABSTENTION
        if old_index is not None and isinstance(old_index.meta.calibration, dict):
            target = float(old_index.meta.calibration.get("target_abstention", target))
        new_index = _calibrated(new_index, embedder, labelled, target)
        notes.append(f"recalibrated the threshold on {len(labelled)} labelled questions "
                     f"({len(out_of_scope)} out of scope): {new_index.meta.min_score:.4f}")
    elif old_index is not None and old_index.meta.min_score is not None:
        notes.append("the previous revision's labelled calibration is not carried over (no labelled "
                     "out-of-scope questions to redo it on): the new revision uses its automatic threshold")
    new_engine = FAQEngine(new_index, embedder, min_score=settings.faq_min_score)
    diff = diff_indexes(old_index, new_index)
    result = gate(old_engine, new_engine, labelled, margin=margin)
    publication = Publication(repo_id, previous, diff, result, new_index, forced=force, notes=notes)
    if publication.refused:
        return publication
    if diff.empty and old_index is not None and not force:
        notes.append(f"nothing to publish: {read.name()} {'hold' if len(read.labels) > 1 else 'holds'} the same "
                     f"FAQs and phrasings as {repo_id}@{previous}")
        return publication
    with tempfile.TemporaryDirectory(prefix="faq-bot-publish-") as tmp:
        folder = save_index(new_index, Path(tmp) / "index")
        publication.pushed = push_folder(folder, repo_id, private=private, token=settings.hf_token,
                                         endpoint=settings.hf_endpoint, message=publication.commit_message(),
                                         description=publication.commit_description(), create_pr=create_pr)
    log.info("published %s to %s at %s", read.name(), repo_id, publication.pushed.commit)
    return publication
