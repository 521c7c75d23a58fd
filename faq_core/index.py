"""The FAQ index: FAQ rows, one unit vector per phrasing, and the metadata
that says how those vectors were made.

On disk it is a folder laid out like a Hugging Face Hub dataset repo, so the
same folder is loaded locally, pushed with ``faq-bot index push``, and loaded
back from the Hub (``datasets.load_dataset`` reads it too); the tables are
written and read with pyarrow (:mod:`faq_core.index_tables`)::

    README.md                     dataset card; its YAML names the two configs
    faq_index.json                metadata (model, dimension, normalisation, ...)
    phrasings/train.parquet       faq_id, text, embedding (float32[dim])
    faqs/train.parquet            id, question, answer, url, alternates, tags
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import shutil
import tempfile
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from faq_core.embedders.base import NORMALIZATION, Embedder, canonical_model_id
from faq_core.errors import IndexLoadError, IndexMismatchError
from faq_core.faqs import FAQ, load_faqs

if TYPE_CHECKING:
    from faq_core.index_tables import Phrasings

log = logging.getLogger(__name__)

FORMAT_VERSION = 1
META_FILE = "faq_index.json"
PHRASINGS = "phrasings"
FAQS = "faqs"
DATA_FILE = "train.parquet"
_REPO_ID = re.compile(r"^[A-Za-z0-9][\w.-]*/[\w.-]+$")


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
- `{FAQS}`: one row per FAQ: `id`, `question`, `answer`, `url`, `alternates`, `tags`.
- `{META_FILE}`: how the vectors were made; faq-bot refuses to compare them with another model's.
"""


def save_index(index: FAQIndex, out: str | Path, *, overwrite: bool = True) -> Path:
    """Write ``index`` to the folder ``out`` atomically: everything is written
    to a temporary sibling first, so a failure leaves the old folder intact."""
    out = Path(out)
    if out.exists() and not overwrite:
        raise FileExistsError(f"{out} exists")
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent))
    try:
        (tmp / PHRASINGS).mkdir()
        (tmp / FAQS).mkdir()
        write_tables(index, tmp)
        (tmp / META_FILE).write_text(json.dumps(asdict(index.meta), indent=2, ensure_ascii=False) + "\n")
        (tmp / "README.md").write_text(dataset_card(index.meta), encoding="utf-8")
        if out.exists():
            old = Path(tempfile.mkdtemp(prefix=f".{out.name}.old.", dir=out.parent))
            os.replace(out, old / out.name)
            os.replace(tmp, out)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return out


def write_meta(location: str | Path, meta: IndexMeta) -> None:
    """Replace the metadata of a local index folder (atomically), e.g. after calibration."""
    path = Path(location) / META_FILE
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(asdict(meta), indent=2, ensure_ascii=False) + "\n")
    os.replace(tmp, path)


def is_hub_repo_id(location: str) -> bool:
    """``user/name`` that is not an existing local path."""
    return bool(_REPO_ID.match(location)) and not Path(location).exists()


def load_index(location: str | Path, revision: str | None = None) -> FAQIndex:
    """Load an index from a local folder or a Hub dataset ``user/name`` (at
    ``revision``, fetched and cached by ``huggingface_hub``); the vectors are
    read into one contiguous float32 matrix."""
    location = str(location)
    meta = _read_meta(location, revision)
    folder = Path(location) if Path(location).is_dir() else _hub_folder(location, revision)
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


def _hub_folder(repo_id: str, revision: str | None) -> Path:
    """The files of a Hub index at ``revision`` in the local Hub cache
    (downloaded once; with ``HF_HUB_OFFLINE=1`` only the cache is used)."""
    try:
        from huggingface_hub import snapshot_download

        return Path(snapshot_download(repo_id, repo_type="dataset", revision=revision,
                                      allow_patterns=[META_FILE, f"{PHRASINGS}/*.parquet", f"{FAQS}/*.parquet"]))
    except Exception as error:  # huggingface_hub raises HTTP, offline and validation errors of many types
        raise IndexLoadError(f"cannot fetch the Hub dataset {repo_id}: {error}") from error


def _read_meta(location: str, revision: str | None) -> IndexMeta:
    if Path(location).is_dir():
        path = Path(location) / META_FILE
    elif is_hub_repo_id(location):
        try:
            from huggingface_hub import hf_hub_download

            path = Path(hf_hub_download(location, META_FILE, repo_type="dataset", revision=revision))
        except Exception as error:
            raise IndexLoadError(f"cannot fetch {META_FILE} of the Hub dataset {location}: {error}") from error
    else:
        raise IndexLoadError(f"FAQ index {location!r} is neither a local folder nor a Hub dataset id (user/name)")
    try:
        return IndexMeta.from_json(json.loads(path.read_text(encoding="utf-8")))
    except FileNotFoundError:
        raise IndexLoadError(
            f"{location} is not an FAQ index: it has no {META_FILE} (build one with 'faq-bot index build')"
        ) from None
    except (ValueError, TypeError) as error:
        raise IndexLoadError(f"{path} is not valid index metadata: {error}") from None

