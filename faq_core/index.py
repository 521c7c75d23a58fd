"""The FAQ index: FAQ rows, one unit vector per phrasing, and the metadata
that says how those vectors were made.

On disk it is a folder laid out like a Hugging Face Hub dataset repo, so the
same folder is loaded locally, pushed with ``faq-bot index push``, and loaded
back from the Hub (``datasets.load_dataset`` reads it too); the tables are
written and read with pyarrow (:mod:`faq_core.index_tables`)::

    README.md                     dataset card; its YAML names the two configs
    faq_index.json                metadata (model, dimension, normalisation, ...)
    phrasings/train.parquet       faq_id, text, embedding (float32[dim])
    faqs/train.parquet            id, question, answer, url, alternates, tags, metadata (JSON)
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import shutil
import uuid
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from faq_core.embedders.base import NORMALIZATION, Embedder, canonical_model_id
from faq_core.errors import FAQBotError, IndexLoadError, IndexMismatchError, IndexWriteError
from faq_core.faqs import FAQ, load_faqs, metadata_columns

if TYPE_CHECKING:
    from faq_core.index_tables import Phrasings

log = logging.getLogger(__name__)

FORMAT_VERSION = 1
META_FILE = "faq_index.json"
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
    calibration: dict[str, Any] = field(default_factory=dict)
    auto_threshold: dict[str, Any] = field(default_factory=dict)  # faq_core.threshold: from the index alone
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
    auto_threshold: bool = True,
) -> FAQIndex:
    """Embed every phrasing of every FAQ (batched) into a new index, with its
    automatic threshold (``faq_core.threshold``) in the metadata."""
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
    )
    index = FAQIndex(faqs, texts, vectors, np.asarray(owner, dtype=np.int64), meta)
    if auto_threshold:
        from faq_core.threshold import with_auto_threshold

        index = with_auto_threshold(index)
    return index


def build_index_from_source(source: str | Path, embedder: Embedder, *, progress: bool = False) -> FAQIndex:
    """Read an FAQ source (refusing a malformed one) and build its index,
    recording the source's name and sha256 in the metadata."""
    source = Path(source)
    return build_index(load_faqs(source), embedder, source_sha256=source_digest(source),
                       source_name=source.name, progress=progress)


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
# FAQ index for faq-bot

{meta.faq_count} FAQs, {meta.phrasing_count} phrasings, embedded with
`{meta.model_id}` ({meta.dim} dimensions, {meta.normalization}) through the
`{meta.backend}` backend on {meta.built_at}.

- `{PHRASINGS}`: one row per phrasing: `faq_id`, `text`, `embedding`.
- `{FAQS}`: one row per FAQ: `id`, `question`, `answer`, `url`, `alternates`, `tags`, and `metadata`
  (the source's other columns as a JSON object, or null).
- `{META_FILE}`: how the vectors were made; faq-bot refuses to compare them with another model's.
"""


def check_out_folder(out: str | Path, *, sources: Iterable[str | Path] = (), force: bool = False) -> Path:
    """Refuse an output path whose replacement by an index would destroy
    something else; return it as an absolute path.

    ``out`` may be a new path, an empty folder, or an existing faq-bot index
    (a folder holding :data:`META_FILE`). A file or a non-empty folder that is
    not an index is refused unless ``force``. The current folder (or one
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
    if not os.path.lexists(path) or force:
        return path
    if path.is_symlink():
        raise IndexWriteError(
            f"--out {shown} is a symbolic link: give the folder it points to, or add --force to replace the "
            "link itself (not what it points to)"
        )
    if path.is_dir():
        if (path / META_FILE).is_file() or not any(path.iterdir()):
            return path
        raise IndexWriteError(
            f"--out {shown} is a folder that is not an FAQ index (it has no {META_FILE}): choose a new or "
            "empty folder, or add --force to replace it and everything in it"
        )
    raise IndexWriteError(
        f"--out {shown} is a file, not an index folder: choose another path, or add --force to replace it"
    )


def save_index(
    index: FAQIndex, out: str | Path, *, sources: Iterable[str | Path] = (), force: bool = False
) -> Path:
    """Write ``index`` to the folder ``out``, after :func:`check_out_folder`
    (``sources`` and ``force`` are passed on to it).

    What is guaranteed: everything is written to a new hidden sibling folder
    first, so a failure while writing leaves ``out`` exactly as it was and no
    sibling behind. The new folder then replaces ``out`` with two renames
    (``out`` aside, the new folder in). If the second rename fails the first is
    undone, so the previous index stays in place. Between the two renames
    ``out`` briefly does not exist; a process killed at that instant leaves
    the previous index in the ``.NAME.old-*`` sibling. The folder is created
    with the user's umask, like any other file.
    """
    out = check_out_folder(out, sources=sources, force=force)
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        tmp = _new_sibling(out, "tmp")
        tmp.mkdir()
    except OSError as error:
        raise IndexWriteError(f"cannot create the index folder {out}: {error.strerror or error}") from error
    try:
        (tmp / PHRASINGS).mkdir()
        (tmp / FAQS).mkdir()
        write_tables(index, tmp)
        (tmp / META_FILE).write_text(json.dumps(asdict(index.meta), indent=2, ensure_ascii=False) + "\n")
        (tmp / "README.md").write_text(dataset_card(index.meta), encoding="utf-8")
        _swap_into_place(tmp, out)
    except BaseException as error:
        shutil.rmtree(tmp, ignore_errors=True)
        if isinstance(error, OSError) and not isinstance(error, IndexWriteError):
            raise IndexWriteError(
                f"could not write the index {out}: {error.strerror or error} (what was there is unchanged)"
            ) from error
        raise
    return out


def _new_sibling(out: Path, kind: str) -> Path:
    """A fresh hidden name next to ``out`` (not created)."""
    return out.parent / f".{out.name}.{kind}-{uuid.uuid4().hex[:12]}"


def _swap_into_place(new: Path, out: Path) -> None:
    """Move the folder ``new`` to ``out``, replacing what is there; if that
    fails half-way, put the previous ``out`` back before raising."""
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
    if old.is_dir() and not old.is_symlink():
        shutil.rmtree(old, ignore_errors=True)
    else:
        old.unlink(missing_ok=True)


def write_meta(location: str | Path, meta: IndexMeta) -> None:
    """Replace the metadata of a local index folder (atomically), e.g. after calibration."""
    path = Path(location) / META_FILE
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(asdict(meta), indent=2, ensure_ascii=False) + "\n")
    os.replace(tmp, path)


def is_hub_repo_id(location: str) -> bool:
    """``user/name`` that is not an existing local path, nor looks like a
    file (``my/faqs.csv``): what may be a Hub dataset id."""
    return bool(_REPO_ID.match(location)) and not _FILE_LIKE.search(location) and not Path(location).exists()


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
    contiguous float32 matrix."""
    location = str(location)
    if Path(location).is_dir():
        folder = Path(location)
    elif is_hub_repo_id(location):
        folder = _hub_folder(location, revision, endpoint, hub_error)
    else:
        raise IndexLoadError(not_an_index_location(location))
    meta = _read_meta(folder, location)
    try:
        faqs, phrasings = read_tables(folder, meta.dim)
    except Exception as error:  # pyarrow raises many types; the message is what matters
        raise IndexLoadError(f"cannot load the FAQ index {location}: {error}") from error
    index = FAQIndex(faqs, phrasings.texts, phrasings.vectors, phrasings.owner, meta, location, revision)
    log.info(
        "loaded FAQ index %s (revision %s): %d FAQs, %d phrasings, model %s",
        location, revision or "latest", len(faqs), len(index.texts), meta.model_id,
    )
    return index


def write_tables(index: FAQIndex, folder: Path) -> None:
    """Write the index's two tables into ``folder`` (which holds a
    ``phrasings`` and a ``faqs`` sub-folder)."""
    from faq_core.index_tables import write_faqs, write_phrasings

    write_phrasings([f.id for f in index.faqs], index.owner, index.texts, index.vectors,
                    folder / PHRASINGS / DATA_FILE)
    write_faqs(index.faqs, folder / FAQS / DATA_FILE)


def read_tables(folder: Path, dim: int) -> tuple[list[FAQ], Phrasings]:
    """The FAQs and phrasings of an index folder (every Parquet file of each
    table, in name order, as ``load_dataset`` would read them)."""
    from faq_core.index_tables import TableError, read_faqs, read_phrasings

    faq_files = sorted((folder / FAQS).glob("*.parquet"))
    phrasing_files = sorted((folder / PHRASINGS).glob("*.parquet"))
    if not faq_files or not phrasing_files:
        raise TableError(f"it has no {FAQS}/*.parquet or {PHRASINGS}/*.parquet")
    faqs, ids = read_faqs(faq_files)
    return faqs, read_phrasings(phrasing_files, ids, dim)


def _hub_folder(repo_id: str, revision: str | None, endpoint: str | None,
                hub_error: FAQBotError | None) -> Path:
    """The files of a Hub index at ``revision`` in the local Hub cache
    (downloaded once; with ``HF_HUB_OFFLINE=1`` only the cache is used). A
    failure says both what the Hub said and that no such folder exists here,
    for a ``user/name`` may be a mistyped folder as well as a dataset."""
    from faq_core.hub import HubUnreachableError, NoSuchRevisionError, fetch_files

    assert hub_error is None or isinstance(hub_error, HubUnreachableError)
    try:
        return fetch_files(repo_id, revision, [META_FILE, f"{PHRASINGS}/*.parquet", f"{FAQS}/*.parquet"],
                           endpoint=endpoint, hub_error=hub_error)
    except NoSuchRevisionError:
        raise
    except (HubUnreachableError, IndexLoadError) as error:
        raise type(error)(f"there is no folder {repo_id} here, and {error}") from error


def _read_meta(folder: Path, location: str) -> IndexMeta:
    path = folder / META_FILE
    try:
        return IndexMeta.from_json(json.loads(path.read_text(encoding="utf-8")))
    except FileNotFoundError:
        raise IndexLoadError(
            f"{location} is not an FAQ index: it has no {META_FILE} (build one with 'faq-bot index build')"
        ) from None
    except (ValueError, TypeError) as error:
        raise IndexLoadError(f"{path} is not valid index metadata: {error}") from None
