"""The FAQ index: FAQ rows, one unit vector per phrasing, and the metadata
that says how those vectors were made.

On disk it is a folder laid out like a Hugging Face Hub dataset repo, so the
same folder is loaded locally, pushed with ``faq-bot index push``, and loaded
back from the Hub (``datasets.load_dataset`` reads it too); the tables are
written and read with pyarrow (:mod:`faq_core.index_tables`)::

    README.md                     dataset card; its YAML names the two configs
    faq_index.json                metadata (model, dimension, normalisation, build id, ...)
    phrasings/train.parquet       faq_id, text, embedding (float32[dim])
    faqs/train.parquet            id, question, answer, url, alternates, tags, metadata (JSON), source,
                                  review_phrasings
    state/                        what loading would otherwise compute: the vectors as one float32
                                  matrix and the scorer's set-up, memory-mapped on load
                                  (:mod:`faq_core.index_state`; an index without it loads too)

Anything else in the folder (``.git/`` of a clone of the Hub dataset, notes,
a README.md faq-bot did not write) is not part of the index and is kept when
a new build is written there (:func:`save_index`).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import re
import shutil
import time
import uuid
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from faq_core.embedders.base import NORMALIZATION, Embedder, canonical_model_id, normalize_in_place
from faq_core.errors import (
    FAQBotError,
    HubUnreachableError,
    IndexLoadError,
    IndexMismatchError,
    IndexWriteError,
    MissingTableError,
    MixedBuildError,
    NoSuchRevisionError,
)
from faq_core.faqs import FAQ, load_faqs, metadata_columns
from faq_core.hub import fetch_files
from faq_core.index_state import MANIFEST, STATE, Derived, produce_missing, read_state, tables_digest, write_state
from faq_core.out_paths import protected_folder, special_file

if TYPE_CHECKING:  # pyarrow is imported only when a table is read or written (index_tables imports it)
    from faq_core.index_state import StoredState
    from faq_core.index_tables import Phrasings
    from faq_core.sources.several import SourceSet

log = logging.getLogger(__name__)

FORMAT_VERSION = 1
META_FILE = "faq_index.json"
CARD_FILE = "README.md"
CARD_HEADING = "# FAQ index for faq-bot"
PHRASINGS = "phrasings"
FAQS = "faqs"
DATA_FILE = "train.parquet"
_REPO_ID = re.compile(r"^[A-Za-z0-9][\w.-]*/[\w.-]+$")
# A name ending like a file (``my/faqs.csv``) is a path that does not exist, never a Hub dataset id.
_FILE_LIKE = re.compile(r"\.(csv|tsv|jsonl?|parquet|txt|md|ya?ml|db|sqlite3?|xlsx?|zip|gz|tar)$", re.IGNORECASE)


@dataclass(frozen=True)
class IndexMeta:
    """How the vectors were made; refused at load time if the query embedder differs."""

    model_id: str
    dim: int
    normalization: str = NORMALIZATION
    backend: str = "local"
    built_at: str = ""
    source_sha256: str = ""
    source_name: str = ""
    faq_count: int = 0
    phrasing_count: int = 0
    min_score: float | None = None  # a calibrated threshold, when one was chosen
    metadata_columns: list[str] = field(default_factory=list)  # the source's extra columns, kept per FAQ
    sources: list[str] = field(default_factory=list)  # each source's label, in build order (empty: older builds)
    calibration: dict[str, Any] = field(default_factory=dict)
    auto_threshold: dict[str, Any] = field(default_factory=dict)  # faq_core.threshold: from the index alone
    # names the build the folder's tables belong to (index_tables.BUILD_KEY); not part of what the index is
    build_id: str = field(default="", compare=False)
    format_version: int = FORMAT_VERSION

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> IndexMeta:
        known = {f for f in cls.__dataclass_fields__}
        missing = {"model_id", "dim"} - set(data)
        if missing:
            raise IndexLoadError(f"index metadata lacks {', '.join(sorted(missing))}")
        return cls(**{k: v for k, v in data.items() if k in known})


@dataclass
class FAQIndex:
    """FAQs plus unit phrasing vectors grouped by FAQ, in FAQ order."""

    faqs: list[FAQ]
    texts: list[str]
    vectors: np.ndarray  # (n_phrasings, dim) float32, unit rows
    owner: np.ndarray  # (n_phrasings,) FAQ position of each row
    meta: IndexMeta
    location: str = "(in memory)"
    revision: str | None = None
    bundled_sample: bool = False  # the package's Medicare sample, served because no FAQ_INDEX is set
    # what scorers derived from these vectors (kept to be saved with the index, or read from its folder)
    derived: Derived = field(default_factory=Derived, repr=False, compare=False)
    starts: np.ndarray = field(init=False)
    ends: np.ndarray = field(init=False)
    _by_id: dict[str, int] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        if len(self.faqs) == 0:
            raise IndexLoadError("the index holds no FAQs")
        counts = np.bincount(self.owner, minlength=len(self.faqs))
        if np.any(np.diff(self.owner) < 0) or np.any(counts == 0):
            raise IndexLoadError("index rows must be grouped by FAQ, each FAQ with at least one phrasing")
        self.ends = np.cumsum(counts)
        self.starts = self.ends - counts
        self._by_id = {faq.id: i for i, faq in enumerate(self.faqs)}
        if self.derived.source is not None and self.derived.source is not self.vectors:
            self.derived = Derived()  # derived from other vectors (a copy made with new ones)
        self.derived.source = self.vectors

    @property
    def display_name(self) -> str:
        """How this index is named to people: see :func:`served_index_name`."""
        return served_index_name(self.location, self.revision, bundled_sample=self.bundled_sample)

    @property
    def dim(self) -> int:
        """Vector dimension."""
        return int(self.vectors.shape[1])

    def faq_by_id(self, faq_id: str) -> FAQ | None:
        """The FAQ with this id, or None."""
        position = self._by_id.get(faq_id)
        return None if position is None else self.faqs[position]

    def check_compatible(self, embedder: Embedder) -> None:
        """Refuse to compare this index with vectors from another model."""
        model = canonical_model_id(embedder.model_id)
        if canonical_model_id(self.meta.model_id) != model or (
            embedder.dim is not None and embedder.dim != self.dim
        ):
            raise IndexMismatchError(
                f"the FAQ index {self.location} was built with {self.meta.model_id} "
                f"(dimension {self.dim}), but questions are embedded with {model}"
                f"{f' (dimension {embedder.dim})' if embedder.dim else ''}: scores between them mean nothing. "
                f"Set EMBEDDING_MODEL={self.meta.model_id}, or rebuild the index with "
                f"'faq-bot index build SOURCE --out DIR' under the new model."
            )
        if self.meta.normalization != NORMALIZATION:
            raise IndexMismatchError(
                f"the FAQ index {self.location} holds {self.meta.normalization} vectors; "
                f"this version expects {NORMALIZATION}: rebuild it with 'faq-bot index build'"
            )


SAMPLE_DISPLAY_NAME = "the bundled Medicare sample"


def served_index_name(location: str, revision: str | None = None, *, bundled_sample: bool = False) -> str:
    """The name of a served index that may be shown to anyone (the Slack App
    Home, a health check, logs): a Hub dataset as ``repo@revision`` (``@latest``
    when not pinned), a local folder by its name only, never the server's path;
    the bundled sample as such."""
    if bundled_sample:
        return SAMPLE_DISPLAY_NAME
    if is_hub_repo_id(location):
        return f"{location}@{revision or 'latest'}"
    return Path(location).name or location


def source_digest(path: str | Path) -> str:
    """sha256 of an FAQ source file, recorded so an index says what it was built from."""
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def build_index(
    faqs: list[FAQ], embedder: Embedder, *, source_sha256: str = "", source_name: str = "", progress: bool = False,
    sources: Iterable[str] = (),
) -> FAQIndex:
    """Embed every phrasing of every FAQ (batched) into a new index. Its
    automatic threshold is the caller's to add (:func:`faq_core.threshold.with_auto_threshold`:
    the threshold is computed with the ranking, which sits above the index)."""
    texts: list[str] = []
    owner: list[int] = []
    for position, faq in enumerate(faqs):
        for text in faq.phrasings:
            texts.append(text)
            owner.append(position)
    vectors = embedder.embed(texts, progress=progress)
    meta = IndexMeta(
        model_id=embedder.model_id,
        dim=int(vectors.shape[1]),
        backend=embedder.backend,
        built_at=datetime.now(UTC).isoformat(timespec="seconds"),
        source_sha256=source_sha256,
        source_name=source_name,
        faq_count=len(faqs),
        phrasing_count=len(texts),
        metadata_columns=metadata_columns(faqs),
        sources=list(sources),
    )
    return FAQIndex(faqs, texts, vectors, np.asarray(owner, dtype=np.int64), meta)


def build_index_from_source(source: str | Path, embedder: Embedder, *, progress: bool = False) -> FAQIndex:
    """Read an FAQ source (refusing a malformed one) and build its index,
    recording the source's name and sha256 in the metadata."""
    source = Path(source)
    return build_index(load_faqs(source), embedder, source_sha256=source_digest(source),
                       source_name=source.name, progress=progress)


def build_index_from_sources(sources: SourceSet, embedder: Embedder, *, progress: bool = False) -> FAQIndex:
    """Build the index of FAQs read from one or more sources
    (:func:`faq_core.sources.several.load_sources`), recording their labels;
    ``source_sha256`` is the file's for one local file (as a single-source
    build always recorded it), else the digest of the FAQs read."""
    digest = sources.digest()
    if len(sources.paths) == 1 and sources.paths[0] is not None:
        digest = source_digest(sources.paths[0])
    return build_index(sources.faqs, embedder, source_sha256=digest, source_name=sources.name(),
                       progress=progress, sources=sources.labels)


def dataset_card(meta: IndexMeta) -> str:
    """README.md for the index folder: YAML configs so ``load_dataset`` finds
    both tables, and a few lines for people browsing the Hub."""
    return f"""---
configs:
- config_name: {PHRASINGS}
  data_files:
  - split: train
    path: {PHRASINGS}/{DATA_FILE}
  default: true
- config_name: {FAQS}
  data_files:
  - split: train
    path: {FAQS}/{DATA_FILE}
tags:
- faq-bot
- sentence-similarity
---
{CARD_HEADING}

{meta.faq_count} FAQs, {meta.phrasing_count} phrasings, embedded with
`{meta.model_id}` ({meta.dim} dimensions, {meta.normalization}) through the
`{meta.backend}` backend on {meta.built_at}.

- `{PHRASINGS}`: one row per phrasing: `faq_id`, `text`, `embedding`.
- `{FAQS}`: one row per FAQ: `id`, `question`, `answer`, `url`, `alternates`, `tags`, `metadata`
  (the source's other columns as a JSON object, or null), `source` (the source it was read from) and
  `review_phrasings` (which alternates `faq-bot sync` kept from the review loop).
- `{META_FILE}`: how the vectors were made; faq-bot refuses to compare them with another model's.

faq-bot rewrites this card on every build. To keep a card of your own, remove
the heading above: faq-bot then leaves README.md as it is.
"""


def check_out_folder(out: str | Path, *, sources: Iterable[str | Path] = (), force: bool = False) -> Path:
    """Refuse an output path where writing an index would destroy or mix with
    something else; return it as an absolute path.

    ``out`` may be a new path, an empty folder, or an existing faq-bot index
    (a folder holding :data:`META_FILE`): the index is written into it and
    every file that is not part of the index is kept (:func:`save_index`). A
    non-empty folder that is not an index is refused unless ``force``, and
    even then when it is a home, system or git folder or a mount point
    (:func:`faq_core.out_paths.protected_folder`); a file is refused unless
    ``force``; a device, socket or FIFO always. The current folder (or one
    containing it) and any of ``sources`` (or a folder containing one) are
    refused even with ``force``. Every command that writes an index folder
    goes through here (``save_index`` calls it), so the rules live in one place.
    """
    path = Path(os.path.abspath(out))
    real = path.resolve()
    shown = str(out)
    if real == Path.cwd().resolve() or real in Path.cwd().resolve().parents:
        raise IndexWriteError(
            f"--out {shown} is the current folder or contains it: choose a new folder for the index "
            "(--force does not override this)"
        )
    for source in sources:
        source_real = Path(source).resolve()
        if source_real == real or real in source_real.parents:
            raise IndexWriteError(
                f"--out {shown} would replace the FAQ source {source}: choose another folder for the index "
                "(--force never deletes the source)"
            )
    kind = special_file(path)
    if kind:
        raise IndexWriteError(f"--out {shown} is {kind}, not a folder: choose another path "
                              "(--force never replaces it)")
    _check_writable(path, shown)
    if not os.path.lexists(path):
        return path
    if path.is_symlink():
        if force:
            return path
        raise IndexWriteError(
            f"--out {shown} is a symbolic link: give the folder it points to, or add --force to replace the "
            "link itself (not what it points to)"
        )
    if not path.is_dir():
        if force:
            return path
        raise IndexWriteError(
            f"--out {shown} is a file, not an index folder: choose another path, or add --force to replace it"
        )
    _check_index_entries(path, shown)
    if (path / META_FILE).is_file() or not any(path.iterdir()):
        return path
    if not force:
        raise IndexWriteError(
            f"--out {shown} is a folder that is not an FAQ index (it has no {META_FILE}): choose a new or "
            "empty folder, or add --force to write the index into it (its other files are kept)"
        )
    reason = protected_folder(path)
    if reason:
        raise IndexWriteError(f"--out {shown} is {reason}: --force never writes an index there; "
                              "choose a new folder")
    return path


def _check_writable(path: Path, shown: str) -> None:
    """Refuse, before a build spends minutes embedding, a folder this user
    cannot write into (``path`` itself if it is a folder, else the nearest
    existing folder above it)."""
    folder = path if path.is_dir() and not path.is_symlink() else path.parent
    while not folder.exists() and folder != folder.parent:
        folder = folder.parent
    if folder.is_dir() and not os.access(folder, os.W_OK | os.X_OK):
        raise IndexWriteError(f"cannot write the index into {shown if folder == path else folder}: "
                              "Permission denied (what was there is unchanged)")


def _check_index_entries(folder: Path, shown: str) -> None:
    """Refuse a folder whose index paths hold something the index cannot
    replace in place: ``phrasings``/``faqs`` that are not plain folders (a link
    would send the tables elsewhere), a metadata or card path that is not a file."""
    for name in (PHRASINGS, FAQS, STATE):
        entry = folder / name
        if os.path.lexists(entry) and (entry.is_symlink() or not entry.is_dir()):
            raise IndexWriteError(f"--out {shown}: {name} in it is not a folder, but the index keeps its "
                                  f"{name} table there: move it away or choose another folder")
    for name in (META_FILE, CARD_FILE):
        entry = folder / name
        if os.path.lexists(entry) and (entry.is_symlink() or not entry.is_file()):
            raise IndexWriteError(f"--out {shown}: {name} in it is not a plain file, but the index writes "
                                  f"its {name} there: move it away or choose another folder")


def index_files(folder: str | Path) -> list[Path]:
    """The files in ``folder`` that belong to an index and are replaced when
    one is written there: :data:`META_FILE`, the tables' Parquet files, the
    files of ``state/`` (all faq-bot's), and ``README.md`` when faq-bot
    wrote it (:func:`is_our_card`)."""
    folder = Path(folder)
    files = [p for p in (folder / META_FILE,) if p.is_file()]
    for table, pattern in ((PHRASINGS, "*.parquet"), (FAQS, "*.parquet"), (STATE, "*")):
        if (folder / table).is_dir() and not (folder / table).is_symlink():
            files.extend(sorted(p for p in (folder / table).glob(pattern) if p.is_file()))
    card = folder / CARD_FILE
    if card.is_file() and not card.is_symlink() and is_our_card(card):
        files.append(card)
    return files


def other_files(folder: str | Path) -> list[str]:
    """What an index folder holds besides the index (``.git/``, notes, a
    README.md someone else wrote): the names a save kept, folders with a
    trailing ``/``; inside ``phrasings``/``faqs`` as ``phrasings/NAME``."""
    folder = Path(folder)
    ours = set(index_files(folder))
    names: list[str] = []
    for entry in sorted(folder.iterdir()) if folder.is_dir() else []:
        if entry.name.startswith(_STAGING):
            continue
        if entry.name in (PHRASINGS, FAQS, STATE) and entry.is_dir() and not entry.is_symlink():
            names.extend(f"{entry.name}/{inner.name}{'/' if inner.is_dir() else ''}"
                         for inner in sorted(entry.iterdir()) if inner not in ours)
        elif entry not in ours:
            names.append(entry.name + ("/" if entry.is_dir() and not entry.is_symlink() else ""))
    return names


def kept_files_note(folder: str | Path) -> str | None:
    """One line naming what an index folder holds besides the index (see
    :func:`other_files`), for the commands that write one; None when nothing."""
    names = other_files(folder)
    if not names:
        return None
    shown = [f"{name} (not a card faq-bot wrote: left as it is, not updated)" if name == CARD_FILE else name
             for name in names[:8]]
    more = f" and {len(names) - 8} more" if len(names) > 8 else ""
    return f"kept what {folder} holds besides the index: {', '.join(shown)}{more}"


def is_our_card(path: Path) -> bool:
    """Whether the ``README.md`` at ``path`` is a dataset card faq-bot wrote
    (it holds the heading :data:`CARD_HEADING`): such a card is rewritten on
    every build; any other README.md is left as it is."""
    try:
        with path.open(encoding="utf-8", errors="replace") as handle:
            return any(line.rstrip("\r\n") == CARD_HEADING for line in handle)
    except OSError:
        return False


def save_index(
    index: FAQIndex, out: str | Path, *, sources: Iterable[str | Path] = (), force: bool = False
) -> Path:
    """Write ``index`` to the folder ``out``, after :func:`check_out_folder`
    (``sources`` and ``force`` are passed on to it).

    A new path gets a new folder: written beside it under a hidden name and
    renamed into place, so it appears whole or not at all (with ``force``, a
    file or symbolic link there is replaced). An existing folder (an index,
    an empty folder, or with ``force`` another folder) keeps every file that
    is not part of the index (:func:`other_files`: ``.git/``, notes, a README
    someone else wrote): the new files are written into a hidden staging
    folder inside it, then each of the index's own files (:func:`index_files`)
    is replaced with a rename, the metadata last; if a rename fails, every
    file already replaced is put back. Readers never take a mix of two builds
    for an index: the tables and the metadata name their build, and
    :func:`load_index` waits for the metadata of a build being written.
    """
    out = check_out_folder(out, sources=sources, force=force)
    index = _with_state(index)
    if out.is_dir() and not out.is_symlink():
        _write_in_place(index, out)
    else:
        _write_new_folder(index, out)
    return out


_STAGING = ".faq-bot-staging-"
_CHUNK = 65_536


def _with_state(index: FAQIndex) -> FAQIndex:
    """``index`` as loading its tables would give it, carrying every
    registered part (the scorer's set-up) for ``state/``: itself, or when its
    rows are not unit (loading normalises them) a copy with unit rows."""
    vectors = index.vectors
    for first in range(0, len(vectors), _CHUNK):
        rows = vectors[first : first + _CHUNK]
        norms = np.einsum("ij,ij->i", rows, rows)
        if not np.all((np.abs(norms - 1) < 1e-5) | (norms == 0)):
            index = replace(index, vectors=normalize_in_place(np.array(vectors, dtype=np.float32)))
            break
    produce_missing(index)
    return index


def _write_files(index: FAQIndex, folder: Path, *, card: bool = True) -> IndexMeta:
    """The index's files in the empty folder ``folder``, under a new build id;
    returns the metadata written."""
    meta = replace(index.meta, build_id=uuid.uuid4().hex)
    (folder / PHRASINGS).mkdir()
    (folder / FAQS).mkdir()
    write_tables(index, folder, meta.build_id)
    write_state(folder, index, tables_digest(table_files(folder), folder))
    (folder / META_FILE).write_text(json.dumps(asdict(meta), indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    if card:
        (folder / CARD_FILE).write_text(dataset_card(meta), encoding="utf-8")
    return meta


def _write_new_folder(index: FAQIndex, out: Path) -> None:
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        tmp = _new_sibling(out, "tmp")
        tmp.mkdir()
    except OSError as error:
        raise IndexWriteError(f"cannot create the index folder {out}: {error.strerror or error}") from error
    try:
        _write_files(index, tmp)
        _swap_into_place(tmp, out)
    except BaseException as error:
        shutil.rmtree(tmp, ignore_errors=True)
        if isinstance(error, OSError) and not isinstance(error, IndexWriteError):
            raise IndexWriteError(
                f"could not write the index {out}: {error.strerror or error} (what was there is unchanged)"
            ) from error
        raise


def _write_in_place(index: FAQIndex, out: Path) -> None:
    """Replace the index files of the existing folder ``out`` (see :func:`save_index`)."""
    for stale in out.glob(f"{_STAGING}*"):  # left by a save that was killed: ours, never anything else
        if stale.is_dir() and not stale.is_symlink():
            shutil.rmtree(stale, ignore_errors=True)
    staging = out / f"{_STAGING}{uuid.uuid4().hex[:12]}"
    try:
        staging.mkdir()
    except OSError as error:
        raise IndexWriteError(f"cannot write the index into {out}: {error.strerror or error} "
                              "(what was there is unchanged)") from error
    keep_staging = False
    created: list[Path] = []  # table folders this save made, removed again if it fails
    try:
        card = out / CARD_FILE
        write_card = not os.path.lexists(card) or is_our_card(card)
        new = staging / "new"
        new.mkdir()
        _write_files(index, new, card=write_card)
        for table in (PHRASINGS, FAQS, STATE):
            if not (out / table).is_dir():
                (out / table).mkdir()
                created.append(out / table)
        replaced = [new / PHRASINGS / DATA_FILE, new / FAQS / DATA_FILE]
        state = [p for p in sorted((new / STATE).iterdir()) if p.name != MANIFEST] + [new / STATE / MANIFEST]
        plan: list[tuple[Path | None, Path]] = [(path, out / path.relative_to(new)) for path in replaced]
        plan += [(None, old) for old in index_files(out)  # other tables' files would be read with the new ones
                 if old.parent.name in (PHRASINGS, FAQS) and old.name != DATA_FILE]
        plan += [(None, old) for old in index_files(out)  # the previous build's state that this one lacks
                 if old.parent.name == STATE and not (new / STATE / old.name).exists()]
        plan += [(path, out / path.relative_to(new)) for path in state]  # its manifest last
        plan.append((new / META_FILE, out / META_FILE))  # the metadata last: the build is complete
        if write_card:
            plan.append((new / CARD_FILE, card))
        _replace_files(plan, out, staging / "previous")
    except _UndoFailed:
        keep_staging = True  # it holds the previous files the error names
        raise
    except BaseException as error:
        for folder in created:
            with contextlib.suppress(OSError):
                folder.rmdir()
        if isinstance(error, OSError) and not isinstance(error, IndexWriteError):
            raise IndexWriteError(
                f"could not write the index {out}: {error.strerror or error} (what was there is unchanged)"
            ) from error
        raise
    finally:
        if not keep_staging:
            shutil.rmtree(staging, ignore_errors=True)


def _replace_files(plan: list[tuple[Path | None, Path]], out: Path, previous: Path) -> None:
    """For each ``(new, target)`` in order: move ``target`` (if any) into
    ``previous``, then ``new`` (if any) to ``target``. If a step fails, undo
    every step in reverse and re-raise; if the undo fails too, raise an
    :class:`IndexWriteError` naming where the previous files are."""
    done: list[tuple[Path, Path | None, bool]] = []  # target, where the previous file went, new one in place
    try:
        for new, target in plan:
            aside = None
            if os.path.lexists(target):
                aside = previous / target.relative_to(out)
                aside.parent.mkdir(parents=True, exist_ok=True)
                os.replace(target, aside)
            done.append((target, aside, False))
            if new is not None:
                os.replace(new, target)
                done[-1] = (target, aside, True)
    except BaseException as error:
        try:
            for target, aside, installed in reversed(done):
                if installed:
                    target.unlink()
                if aside is not None:
                    os.replace(aside, target)
        except OSError:
            raise _UndoFailed(
                f"could not write the index {out}: {error}; the previous files are kept in {previous}"
            ) from error
        raise


class _UndoFailed(IndexWriteError):
    """Replacing an index's files failed, and so did putting them back."""


def _new_sibling(out: Path, kind: str) -> Path:
    """A fresh hidden name next to ``out`` (not created)."""
    return out.parent / f".{out.name}.{kind}-{uuid.uuid4().hex[:12]}"


def _swap_into_place(new: Path, out: Path) -> None:
    """Move the folder ``new`` to ``out``, replacing the file or symbolic link
    there (never a folder: :func:`check_out_folder` sends those to an in-place
    write); if that fails half-way, put the previous ``out`` back before raising."""
    if not os.path.lexists(out):
        os.replace(new, out)
        return
    old = _new_sibling(out, "old")
    os.replace(out, old)
    try:
        os.replace(new, out)
    except BaseException as error:
        try:
            os.replace(old, out)
        except OSError:
            raise IndexWriteError(
                f"could not write the index {out}: {error}; the previous one is kept in {old}"
            ) from error
        raise
    if old.is_symlink() or not old.is_dir():
        old.unlink(missing_ok=True)
    else:  # a folder appeared at out after the check: keep it, beside the index
        log.warning("kept %s, which appeared at %s while the index was written", old, out)


def store_state(index: FAQIndex, folder: str | Path) -> bool:
    """Give the local index folder ``index`` was loaded from the stored state
    it lacks (``faq-bot calibrate`` on an index built before state was
    stored); False, with one log line, when the folder changed since the load
    or cannot be written (the index still loads, computing what it lacks)."""
    folder = Path(folder)
    if index.derived.not_used is None:
        return True  # its state is stored already
    produce_missing(index)
    staging = folder / f"{_STAGING}{uuid.uuid4().hex[:12]}"
    try:
        files = table_files(folder)
        if tables_digest(files, folder) != index.derived.tables_digest:
            log.warning("did not store the precomputed state in %s: its tables changed since it was loaded", folder)
            return False
        staging.mkdir()
        written = write_state(staging, index, index.derived.tables_digest)
        (folder / STATE).mkdir(exist_ok=True)
        plan: list[tuple[Path | None, Path]] = [
            (None, old) for old in index_files(folder)
            if old.parent.name == STATE and not (staging / STATE / old.name).exists()]
        plan += [(path, folder / STATE / path.name) for path in written]
        _replace_files(plan, folder, staging / "previous")
    except OSError as error:
        log.warning("could not store the precomputed state in %s: %s (the index still loads, computing it)",
                    folder, getattr(error, "strerror", None) or error)
        return False
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    index.derived.not_used = None
    return True


def write_meta(location: str | Path, meta: IndexMeta) -> None:
    """Replace the metadata of a local index folder (atomically), e.g. after
    calibration. The tables stay, so the folder's build id is kept; a folder
    that cannot be written (read-only) is one :class:`IndexWriteError`."""
    path = Path(location) / META_FILE
    tmp = path.with_suffix(f".json.tmp-{uuid.uuid4().hex[:8]}")
    try:
        current = json.loads(path.read_text(encoding="utf-8")).get("build_id", "")
    except (OSError, ValueError, AttributeError):
        current = ""
    meta = replace(meta, build_id=current or meta.build_id) if isinstance(current, str) else meta
    try:
        tmp.write_text(json.dumps(asdict(meta), indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
        os.replace(tmp, path)
    except OSError as error:
        tmp.unlink(missing_ok=True)
        raise IndexWriteError(
            f"cannot write {path}: {error.strerror or error} (the index is unchanged). The folder must be "
            f"writable: fix its permissions, or copy it (cp -r {location} NEW) and run the command on the copy"
        ) from None


def is_hub_repo_id(location: str) -> bool:
    """``user/name`` that is not an existing local path, nor looks like a
    file (``my/faqs.csv``): what may be a Hub dataset id."""
    return bool(_REPO_ID.match(location)) and not _FILE_LIKE.search(location) and not Path(location).exists()


LOCAL_REVISION_PREFIX = "local-"


def local_revision(folder: str | Path) -> str:
    """The revision of a local index folder, ``local-`` and a digest of its
    metadata (which every build changes: it holds the build time and the
    build id, and a build replaces it last). The one
    name of a folder's build everywhere: ``index info``, the engine's log,
    ``/readyz``, the reloader and ``faq-bot status``. Raises ``OSError``
    while the folder is being replaced."""
    return _local_revision((Path(folder) / META_FILE).read_bytes())


def _local_revision(meta_bytes: bytes) -> str:
    return LOCAL_REVISION_PREFIX + hashlib.sha256(meta_bytes).hexdigest()[:12]


def not_an_index_location(location: str) -> str:
    """Why ``location`` (neither a folder nor a Hub dataset id) names no index, for people."""
    if Path(location).is_file():
        return f"{location} is a file, not an FAQ index folder (build one from an FAQ source with " \
               "'faq-bot index build SOURCE --out DIR')"
    return f"no such folder {location!r}, and not a Hub dataset id (user/name)"


def load_index(location: str | Path, revision: str | None = None, *, endpoint: str | None = None,
               hub_error: FAQBotError | None = None) -> FAQIndex:
    """Load an index from a local folder or a Hub dataset ``user/name`` (at
    ``revision``, fetched and cached by ``huggingface_hub`` from ``endpoint``,
    None: ``HF_ENDPOINT`` or the Hub; ``hub_error``: the Hub already failed to
    say which commit ``revision`` is, so only the local Hub cache is used, see
    :func:`faq_core.hub.fetch_files`); the vectors are read into one
    contiguous float32 matrix. A folder's index is named by its build
    (:func:`local_revision` of the metadata read), a Hub one by ``revision``.
    A local folder caught while a build replaces its files (tables of one
    build, metadata of another) is read again once the build is done; still
    mixed after :data:`MIXED_WAIT_SECONDS`, it is refused."""
    location = str(location)
    local = Path(location).is_dir()
    if local:
        folder = Path(location)
    elif is_hub_repo_id(location):
        folder = _hub_folder(location, revision, endpoint, hub_error)
    else:
        raise IndexLoadError(not_an_index_location(location))
    deadline = time.monotonic() + MIXED_WAIT_SECONDS
    while True:
        meta, meta_bytes = _read_meta(folder, location)
        if local:
            revision = _local_revision(meta_bytes)
        try:
            stored, not_used, digest = _stored_state(folder, meta.dim)
            faqs, phrasings = read_tables(folder, meta.dim, meta.build_id,
                                          vectors=stored.vectors if stored is not None else None)
            break
        except Exception as error:  # pyarrow raises many types; the message is what matters
            if local and _being_replaced(folder, meta, error) and time.monotonic() < deadline:
                time.sleep(0.05)
                continue
            if isinstance(error, MixedBuildError):
                raise IndexLoadError(
                    f"cannot load the FAQ index {location}: its tables and {META_FILE} come from different builds "
                    "(a build was interrupted): build it again with 'faq-bot index build'"
                ) from None
            raise IndexLoadError(f"cannot load the FAQ index {location}: {error}") from error
    index = FAQIndex(faqs, phrasings.texts, phrasings.vectors, phrasings.owner, meta, location, revision,
                     derived=Derived(stored.parts if stored is not None else {}, not_used, digest))
    log.info(
        "loaded FAQ index %s (revision %s): %d FAQs, %d phrasings, model %s",
        location, revision or "latest", len(faqs), len(index.texts), meta.model_id,
    )
    return index


MIXED_WAIT_SECONDS = 2.0


def _being_replaced(folder: Path, meta: IndexMeta, error: Exception) -> bool:
    """Whether a failed read may be a build replacing the folder's files (a
    table moved aside, or the metadata replaced, while it was read)."""
    if isinstance(error, (FileNotFoundError, MissingTableError, MixedBuildError)):
        return True
    try:
        now = json.loads((folder / META_FILE).read_text(encoding="utf-8")).get("build_id", "")
    except (OSError, ValueError, AttributeError):
        return False
    return bool(meta.build_id) and now != meta.build_id


def table_files(folder: Path) -> list[Path]:
    """The Parquet files of both tables of an index folder (what :func:`read_tables` reads)."""
    return sorted((folder / FAQS).glob("*.parquet")) + sorted((folder / PHRASINGS).glob("*.parquet"))


def _stored_state(folder: Path, dim: int) -> tuple[StoredState | None, str | None, str]:
    """The folder's stored state if it belongs to its tables (see
    :mod:`faq_core.index_state`), else None and why it is not used; and the tables' digest."""
    files = table_files(folder)
    if not files:
        return None, None, ""  # read_tables says what is missing
    from faq_core.index_tables import parquet_rows

    rows = sum(parquet_rows(p) for p in files if p.parent.name == PHRASINGS)
    digest = tables_digest(files, folder)
    stored, not_used = read_state(folder, digest, rows, dim)
    return stored, not_used, digest


def write_tables(index: FAQIndex, folder: Path, build_id: str = "") -> None:
    """Write the index's two tables into ``folder`` (which holds a
    ``phrasings`` and a ``faqs`` sub-folder), tagged with ``build_id``."""
    from faq_core.index_tables import write_faqs, write_phrasings

    write_phrasings([f.id for f in index.faqs], index.owner, index.texts, index.vectors,
                    folder / PHRASINGS / DATA_FILE, build_id)
    write_faqs(index.faqs, folder / FAQS / DATA_FILE, build_id)


def read_tables(folder: Path, dim: int, build_id: str = "", *,
                vectors: np.ndarray | None = None) -> tuple[list[FAQ], Phrasings]:
    """The FAQs and phrasings of an index folder (every Parquet file of each
    table, in name order, as ``load_dataset`` would read them). With
    ``build_id`` (the metadata's), files of another build are refused. With
    ``vectors`` (the stored matrix of these tables), the ``embedding`` column is not decoded."""
    from faq_core.index_tables import read_faqs, read_phrasings

    faq_files = sorted((folder / FAQS).glob("*.parquet"))
    phrasing_files = sorted((folder / PHRASINGS).glob("*.parquet"))
    if not faq_files or not phrasing_files:
        raise MissingTableError(f"it has no {FAQS}/*.parquet or {PHRASINGS}/*.parquet")
    faqs, ids = read_faqs(faq_files, build_id)
    return faqs, read_phrasings(phrasing_files, ids, dim, build_id, vectors=vectors)


def _hub_folder(repo_id: str, revision: str | None, endpoint: str | None,
                hub_error: FAQBotError | None) -> Path:
    """The files of a Hub index at ``revision`` in the local Hub cache
    (downloaded once; with ``HF_HUB_OFFLINE=1`` only the cache is used). A
    failure says both what the Hub said and that no such folder exists here,
    for a ``user/name`` may be a mistyped folder as well as a dataset."""
    assert hub_error is None or isinstance(hub_error, HubUnreachableError)
    try:
        return fetch_files(repo_id, revision, [META_FILE, f"{PHRASINGS}/*.parquet", f"{FAQS}/*.parquet", f"{STATE}/*"],
                           endpoint=endpoint, hub_error=hub_error)
    except NoSuchRevisionError:
        raise
    except (HubUnreachableError, IndexLoadError) as error:
        raise type(error)(f"there is no folder {repo_id} here, and {error}") from error


def _read_meta(folder: Path, location: str) -> tuple[IndexMeta, bytes]:
    """The metadata of an index, and the bytes it was read from."""
    path = folder / META_FILE
    try:
        raw = path.read_bytes()
        return IndexMeta.from_json(json.loads(raw.decode("utf-8"))), raw
    except FileNotFoundError:
        raise IndexLoadError(
            f"{location} is not an FAQ index: it has no {META_FILE} (build one with 'faq-bot index build')"
        ) from None
    except (ValueError, TypeError) as error:
        raise IndexLoadError(f"{path} is not valid index metadata: {error}") from None
