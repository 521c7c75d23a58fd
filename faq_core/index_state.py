"""What an index folder stores besides its tables so loading it computes nothing.

Everything here is derived from the tables and could be recomputed from them;
it is stored because recomputing costs seconds at a million phrasings, on
every start and every reload. An index folder's ``state/`` sub-folder holds::

    state/MANIFEST          JSON: format, the digest of the tables it belongs to, and each part's
                            version and arrays (name, shape, dtype)
    state/vectors.npy       the unit phrasing vectors as one float32 matrix (the Parquet
                            ``embedding`` column, already decoded), memory-mapped on load
    state/PART.NAME.npy     the arrays of each part: e.g. ``blend.mean.npy``, the blend
                            scorer's set-up (``faq_core.scoring``)

A *part* is any named set of arrays (plus a few JSON values) with a version
string; whoever computes one (a scorer) puts it on the in-memory index
(:meth:`Derived.put`) and takes it back with the version it expects
(:meth:`Derived.get`): another version is ignored and recomputed. Producers
registered with :func:`register_producer` run when an index is saved without
their part, so every saved index carries every registered part. The manifest
names the tables by :func:`tables_digest` (sizes and Parquet footers, which
hold every column chunk's offset and statistics: cheap to read, changed by
any rewrite), so state left beside other tables is never used. The folder
has no file ``datasets`` reads (``.npy`` is no ``datasets`` format, and the
manifest has no extension), so the Hub dataset loads as before.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from faq_core.index import FAQIndex

log = logging.getLogger(__name__)

STATE = "state"
MANIFEST = "MANIFEST"
VECTORS_FILE = "vectors.npy"
STATE_FORMAT = 1
_FOOTER_MAX = 64 * 1024 * 1024  # a Parquet footer larger than this is not read (hashed by size only)


@dataclass
class Part:
    """One named piece of derived state: its version, arrays and JSON values."""

    version: str
    arrays: dict[str, np.ndarray]
    values: dict[str, Any] = field(default_factory=dict)


@dataclass
class Derived:
    """The derived state an in-memory index carries: parts by name, and why
    the stored state of the folder it came from was not used (None: it was,
    or the index was not loaded from a folder)."""

    parts: dict[str, Part] = field(default_factory=dict)
    not_used: str | None = None
    tables_digest: str = ""  # of the folder's tables when loaded ("": not loaded from a folder)
    source: np.ndarray | None = field(default=None, repr=False)  # the vectors the parts were derived from
    _noted: bool = field(default=False, repr=False)

    def get(self, name: str, version: str) -> Part | None:
        """The part ``name`` if it is of ``version``, else None (compute it)."""
        part = self.parts.get(name)
        return part if part is not None and part.version == version else None

    def put(self, name: str, part: Part) -> None:
        """Keep ``part`` (its arrays are referenced, not copied) to be saved with the index."""
        self.parts[name] = part

    def note_computed(self, what: str, location: str) -> None:
        """Log, once per loaded index, that ``what`` was computed because the
        folder's stored state was missing or stale, suggesting a rebuild."""
        if self.not_used is None or self._noted:
            return
        self._noted = True
        log.info("computed %s on load of %s (%s): rebuild the index with 'faq-bot index build' "
                 "(or 'faq-bot calibrate' the folder) to store it and start faster", what, location, self.not_used)


Producer = Callable[["FAQIndex"], None]
_PRODUCERS: dict[str, Producer] = {}


def register_producer(name: str, produce: Producer) -> None:
    """Have ``produce(index)`` put part ``name`` on an index saved without it."""
    _PRODUCERS[name] = produce


def produce_missing(index: FAQIndex) -> None:
    """Run every registered producer whose part ``index`` lacks."""
    for name, produce in _PRODUCERS.items():
        if name not in index.derived.parts:
            produce(index)


def tables_digest(table_files: Iterable[Path], root: Path) -> str:
    """sha256 of each table file's path (relative to ``root``), size and Parquet footer."""
    digest = hashlib.sha256()
    for path in sorted(table_files, key=lambda p: p.relative_to(root).as_posix()):
        digest.update(path.relative_to(root).as_posix().encode() + b"\0")
        with path.open("rb") as handle:
            size = handle.seek(0, 2)
            digest.update(str(size).encode() + b"\0")
            if size >= 12:
                handle.seek(size - 8)
                tail = handle.read(8)
                length = int.from_bytes(tail[:4], "little")
                if tail[4:] == b"PAR1" and length <= min(size - 12, _FOOTER_MAX):
                    handle.seek(size - 8 - length)
                    digest.update(handle.read(length))
    return digest.hexdigest()


def write_state(folder: Path, index: FAQIndex, digest: str) -> list[Path]:
    """Write ``index``'s vectors and parts into ``folder/state`` (a new
    folder) for the tables of digest ``digest``; returns the files written,
    the manifest last."""
    out = folder / STATE
    out.mkdir()
    written = [out / VECTORS_FILE]
    np.save(written[0], np.ascontiguousarray(index.vectors, dtype=np.float32), allow_pickle=False)
    parts: dict[str, Any] = {}
    for name, part in sorted(index.derived.parts.items()):
        arrays: dict[str, Any] = {}
        for key, array in sorted(part.arrays.items()):
            path = out / f"{name}.{key}.npy"
            np.save(path, np.ascontiguousarray(array), allow_pickle=False)
            written.append(path)
            arrays[key] = {"file": path.name, "shape": list(array.shape), "dtype": str(array.dtype)}
        parts[name] = {"version": part.version, "arrays": arrays, "values": part.values}
    manifest = {"format": STATE_FORMAT, "tables_digest": digest,
                "vectors": {"file": VECTORS_FILE, "shape": list(index.vectors.shape), "dtype": "float32"},
                "parts": parts}
    written.append(out / MANIFEST)
    written[-1].write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    return written


@dataclass
class StoredState:
    """What a folder's ``state/`` holds for its tables: the vectors (mapped) and the parts."""

    vectors: np.ndarray | None
    parts: dict[str, Part]


def read_state(folder: Path, digest: str, rows: int, dim: int) -> tuple[StoredState | None, str | None]:
    """The stored state of ``folder`` if it belongs to the tables of
    ``digest`` (``rows`` phrasings of ``dim`` dimensions), memory-mapped;
    else None and why (for the one log line :meth:`Derived.note_computed` writes)."""
    path = folder / STATE / MANIFEST
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None, "it stores no precomputed state: it was built by an older faq-bot"
    except (OSError, ValueError) as error:
        return None, f"its {STATE}/{MANIFEST} cannot be read: {error}"
    try:
        if manifest.get("format") != STATE_FORMAT:
            return None, f"its stored state has format {manifest.get('format')!r}, this faq-bot reads {STATE_FORMAT}"
        if manifest.get("tables_digest") != digest:
            return None, "its stored state belongs to other tables (they were replaced after it was written)"
        vectors = _mapped(folder / STATE, manifest["vectors"])
        if vectors.shape != (rows, dim) or vectors.dtype != np.float32:
            return None, f"its stored vectors are {vectors.shape}, the tables hold ({rows}, {dim})"
        parts = {name: Part(str(entry["version"]),
                            {key: _mapped(folder / STATE, spec) for key, spec in entry["arrays"].items()},
                            dict(entry.get("values") or {}))
                 for name, entry in manifest.get("parts", {}).items()}
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as error:
        return None, f"its stored state is unreadable ({type(error).__name__}: {error})"
    return StoredState(vectors, parts), None


def _mapped(folder: Path, spec: dict[str, Any]) -> np.ndarray:
    """The array a manifest entry names, memory-mapped read-only (a plain
    ndarray view: the pages are the file's, shared, and read on first use)."""
    name = str(spec["file"])
    if "/" in name or "\\" in name or name.startswith("."):
        raise ValueError(f"bad file name {name!r}")
    array = np.load(folder / name, mmap_mode="r", allow_pickle=False)
    if list(array.shape) != list(spec["shape"]) or str(array.dtype) != spec["dtype"]:
        raise ValueError(f"{name} is {array.shape} {array.dtype}, the manifest says {spec['shape']} {spec['dtype']}")
    return array.view(np.ndarray)
