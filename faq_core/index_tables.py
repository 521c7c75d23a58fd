"""The index's two Parquet tables, written and read with pyarrow.

Written straight from the index's arrays (no per-row Python objects, no
``datasets`` copy), so a million phrasings are built in a few GB; read back
row group by row group into one preallocated, C-contiguous float32 matrix,
normalised in place, so loading costs the matrix plus one row group. The
files are the ones ``datasets.load_dataset`` reads (the folder stays a valid
Hub dataset repo): ``embedding`` is a fixed-size list of float32.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from faq_core.embedders.base import normalize_in_place
from faq_core.errors import MixedBuildError, TableError
from faq_core.faqs import FAQ

# Rows per Parquet row group of the phrasings table: ~25 MB of vectors at 384
# dimensions, which is also what a load holds beside the matrix.
ROW_GROUP = 16_384
# Key of the Parquet file metadata naming the build a table belongs to; the
# index metadata names the same build, so a reader can tell a folder whose
# files are being replaced (old metadata, new tables) from a whole index.
BUILD_KEY = b"faq_bot.build_id"

FAQ_SCHEMA = pa.schema([
    ("id", pa.string()), ("question", pa.string()), ("answer", pa.string()), ("url", pa.string()),
    ("alternates", pa.list_(pa.string())), ("tags", pa.list_(pa.string())),
    ("metadata", pa.string()),  # the source's other columns, a JSON object (null when none)
    ("source", pa.string()),  # the source the FAQ was read from (null in an index written before sources)
    ("review_phrasings", pa.list_(pa.string())),  # which alternates sync kept from the review loop (null: unknown)
])


@dataclass
class Phrasings:
    """The phrasings table as arrays: FAQ position of each row, texts, unit vectors."""

    owner: np.ndarray
    texts: list[str]
    vectors: np.ndarray


def metadata_json(faq: FAQ) -> str | None:
    """An FAQ's metadata as stored in the ``faqs`` table: a JSON object, or None."""
    return json.dumps(dict(faq.metadata), ensure_ascii=False) if faq.metadata else None


def _tagged(schema: pa.Schema, build_id: str) -> pa.Schema:
    return schema.with_metadata({BUILD_KEY: build_id.encode()}) if build_id else schema


def _opened(paths: list[Path], build_id: str) -> list[pq.ParquetFile]:
    """The Parquet files ``paths``, open; with ``build_id``, a file that
    names another build is refused (:class:`MixedBuildError`); one that names
    none (written by another tool, or before builds were named) is read. The
    check reads the footer of the very file then read, even if a build
    renames another one into its place meanwhile."""
    files = [pq.ParquetFile(p) for p in paths]
    for path, file in zip(paths, files, strict=True):
        named = (file.metadata.metadata or {}).get(BUILD_KEY)
        if build_id and named is not None and named.decode() != build_id:
            raise MixedBuildError(f"{path.parent.name}/{path.name} is not of the build the metadata names")
    return files


def write_faqs(faqs: list[FAQ], path: Path, build_id: str = "") -> None:
    """One row per FAQ: ``id, question, answer, url, alternates, tags, metadata, source, review_phrasings``."""
    table = pa.table({
        "id": [f.id for f in faqs], "question": [f.question for f in faqs], "answer": [f.answer for f in faqs],
        "url": [f.url for f in faqs], "alternates": [list(f.alternates) for f in faqs],
        "tags": [list(f.tags) for f in faqs], "metadata": [metadata_json(f) for f in faqs],
        "source": [f.source for f in faqs],
        "review_phrasings": [None if f.review_phrasings is None else list(f.review_phrasings) for f in faqs],
    }, schema=_tagged(FAQ_SCHEMA, build_id))
    pq.write_table(table, path)


def write_phrasings(faq_ids: list[str], owner: np.ndarray, texts: list[str], vectors: np.ndarray,
                    path: Path, build_id: str = "") -> None:
    """One row per phrasing: ``faq_id, text, embedding`` (float32[dim]),
    written one row group at a time from the arrays."""
    n, dim = vectors.shape
    ids = pa.array(faq_ids, type=pa.string())
    schema = _tagged(pa.schema([("faq_id", pa.string()), ("text", pa.string()),
                                ("embedding", pa.list_(pa.float32(), dim))]), build_id)
    with pq.ParquetWriter(path, schema) as writer:
        for start in range(0, n, ROW_GROUP):
            stop = min(start + ROW_GROUP, n)
            block = np.ascontiguousarray(vectors[start:stop], dtype=np.float32)
            writer.write_table(pa.table({
                "faq_id": ids.take(pa.array(owner[start:stop])),
                "text": pa.array(texts[start:stop], type=pa.string()),
                "embedding": pa.FixedSizeListArray.from_arrays(pa.array(block.reshape(-1)), dim),
            }, schema=schema), row_group_size=ROW_GROUP)


def read_faqs(paths: list[Path], build_id: str = "") -> tuple[list[FAQ], pa.Array]:
    """The FAQ rows of one or more Parquet files, in order, and their ids as an
    Arrow array (to map phrasings to FAQs without ``pa.array``, which imports
    pandas); with ``build_id``, only files of that build are read."""
    table = pa.concat_tables([file.read() for file in _opened(paths, build_id)])
    missing = {"id", "question"} - set(table.column_names)
    if missing:
        raise TableError(f"the FAQ table lacks {', '.join(sorted(missing))}")
    columns = {name: (table.column(name).to_pylist() if name in table.column_names else [None] * table.num_rows)
               for name in FAQ_SCHEMA.names}
    faqs = [
        FAQ(id=i, question=q, answer=a, url=u, alternates=tuple(alt or ()), tags=tuple(tag or ()),
            metadata=json.loads(meta) if meta else {}, source=src,  # older indexes: no metadata, no source
            review_phrasings=None if kept is None else tuple(kept))
        for i, q, a, u, alt, tag, meta, src, kept in zip(*(columns[name] for name in FAQ_SCHEMA.names), strict=True)
    ]
    return faqs, table.column("id").combine_chunks()


def parquet_rows(path: Path) -> int:
    """How many rows a Parquet file holds (read from its footer)."""
    return int(pq.ParquetFile(path).metadata.num_rows)


def read_phrasings(paths: list[Path], faq_ids: pa.Array, dim: int, build_id: str = "", *,
                   vectors: np.ndarray | None = None) -> Phrasings:
    """The phrasings of one or more Parquet files: vectors into one
    preallocated ``(n, dim)`` float32 matrix (unit rows), FAQ ids mapped to
    positions in ``faq_ids``; with ``build_id``, only files of that build.
    ``vectors`` (these rows' unit vectors, stored beside the tables) skips
    decoding the ``embedding`` column. Raises :class:`TableError` on a malformed table."""
    files = _opened(paths, build_id)
    n = sum(f.metadata.num_rows for f in files)
    stored = vectors is not None and vectors.shape == (n, dim)
    if vectors is None or not stored:
        vectors = np.empty((n, dim), dtype=np.float32)
    owner = np.empty(n, dtype=np.int64)
    texts: list[str] = []
    row = 0
    for file in files:
        # Top-level names from the Parquet schema (``schema_arrow`` would import pandas).
        names = {file.schema.column(i).path.split(".")[0] for i in range(len(file.schema))}
        if not {"faq_id", "text", "embedding"} <= names:
            raise TableError(f"the phrasings table lacks {', '.join(sorted({'faq_id', 'text', 'embedding'} - names))}")
        # FAQ ids mapped to positions in one call per file: pc.index_in hashes
        # its value set (every FAQ id) on each call, which per row group cost
        # about a second at a million phrasings.
        owner[row : row + file.metadata.num_rows] = _positions(file.read(columns=["faq_id"]).column("faq_id"),
                                                               faq_ids)
        for group in range(file.num_row_groups):
            batch = file.read_row_group(group, columns=["text"] if stored else ["text", "embedding"])
            count = batch.num_rows
            if not stored:
                vectors[row : row + count] = _matrix(batch.column("embedding"), count, dim)
            texts.extend(batch.column("text").to_pylist())
            row += count
            time.sleep(0)  # a bounded step: threads answering questions (a reload runs beside them) get their turn
    if not stored:
        normalize_in_place(vectors)
    pa.default_memory_pool().release_unused()  # the decoded row groups' memory, back to the system
    return Phrasings(owner, texts, vectors)


def _positions(ids: pa.ChunkedArray, faq_ids: pa.Array) -> np.ndarray:
    """Position in ``faq_ids`` of each id; :class:`TableError` for an unknown one."""
    positions = pc.index_in(ids, value_set=faq_ids)
    if positions.null_count:
        unknown = pc.filter(ids, pc.is_null(positions))[0].as_py()
        raise TableError(f"it has a phrasing of unknown FAQ {unknown!r}")
    # Array (not ChunkedArray) .to_numpy: the latter goes through pandas.
    return np.concatenate([_numpy(c, np.int32) for c in positions.chunks]) if positions.num_chunks else (
        np.empty(0, dtype=np.int32))


def _matrix(column: pa.ChunkedArray, count: int, dim: int) -> np.ndarray:
    """A list column of floats as a ``(count, dim)`` float32 array."""
    if column.null_count:
        raise TableError("it has a phrasing without an embedding")
    parts = []
    for chunk in column.chunks:
        if pa.types.is_fixed_size_list(chunk.type):
            width = chunk.type.list_size
        else:
            lengths = _numpy(pc.list_value_length(chunk), np.int32)
            width = int(lengths[0]) if len(lengths) else dim
            if len(lengths) and np.any(lengths != width):
                raise TableError("its embeddings have different lengths")
        if width != dim:
            raise TableError(f"it holds vectors of shape ({count}, {width}), metadata says {dim}")
        values = chunk.flatten()
        if not pa.types.is_float32(values.type):
            values = values.cast(pa.float32())
        parts.append(_numpy(values, np.float32).reshape(-1, dim))
    return parts[0] if len(parts) == 1 else np.concatenate(parts)


def _numpy(array: pa.Array, dtype: type[np.generic]) -> np.ndarray:
    """A primitive Arrow array without nulls as a zero-copy numpy view: read
    from its buffer, because ``Array.to_numpy`` imports pandas (~0.5 s)."""
    if array.null_count:
        raise TableError("it has missing values")
    width = np.dtype(dtype).itemsize
    if array.type.bit_width != 8 * width:
        raise TableError(f"unexpected column type {array.type}")
    return np.frombuffer(array.buffers()[1], dtype=dtype, count=len(array), offset=array.offset * width)
