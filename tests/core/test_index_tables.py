"""The index tables through pyarrow: many row groups land in one contiguous
float32 matrix of unit rows, indexes written by the earlier ``datasets`` path
still load, bad tables are refused with a sentence, and a Hub revision is read
from the Hub cache."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

import faq_core.index_tables as tables
from faq_core.errors import IndexLoadError
from faq_core.faqs import FAQ
from faq_core.index import FAQIndex, IndexMeta, load_index, save_index


def random_index(n_faqs: int, per_faq: int, dim: int = 8, seed: int = 0) -> FAQIndex:
    rng = np.random.default_rng(seed)
    faqs = [FAQ(f"f{i}", f"question {i}?", answer=f"answer {i}", alternates=tuple(
        f"wording {i}.{j}" for j in range(per_faq - 1)), tags=("t",) if i % 2 else ()) for i in range(n_faqs)]
    vectors = rng.standard_normal((n_faqs * per_faq, dim)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    owner = np.repeat(np.arange(n_faqs), per_faq)
    texts = [text for faq in faqs for text in faq.phrasings]
    meta = IndexMeta(model_id="test/model", dim=dim, faq_count=n_faqs, phrasing_count=len(texts))
    return FAQIndex(faqs, texts, vectors, owner, meta)


def test_many_row_groups_load_into_one_contiguous_matrix(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(tables, "ROW_GROUP", 7)  # 150 rows: 22 row groups, the last one short
    index = random_index(50, 3)
    folder = save_index(index, tmp_path / "idx")
    import pyarrow.parquet as pq

    assert pq.ParquetFile(folder / "phrasings" / "train.parquet").num_row_groups == 22
    shutil.rmtree(folder / "state")  # the embedding column decoded, as for an index without stored state
    loaded = load_index(folder)
    assert loaded.vectors.dtype == np.float32 and loaded.vectors.flags.c_contiguous
    assert loaded.vectors.flags.writeable and loaded.vectors.base is None  # one matrix, not a view of Arrow data
    np.testing.assert_allclose(loaded.vectors, index.vectors, atol=2e-7)
    assert loaded.owner.tolist() == index.owner.tolist()
    assert loaded.texts == index.texts
    assert loaded.faqs == index.faqs


def test_rows_that_are_not_unit_are_normalised_on_load(tmp_path: Path) -> None:
    index = random_index(4, 2)
    index.vectors *= np.arange(1, 9, dtype=np.float32)[:, None]
    index.vectors[3] = 0
    folder = save_index(index, tmp_path / "idx")
    with_state = load_index(folder)
    shutil.rmtree(folder / "state")
    for loaded in (with_state, load_index(folder)):  # the stored matrix holds the rows as loading makes them
        norms = np.linalg.norm(loaded.vectors, axis=1)
        np.testing.assert_allclose(np.delete(norms, 3), 1.0, atol=1e-6)
        assert norms[3] == 0


def test_an_index_written_by_the_datasets_path_still_loads(tmp_path: Path) -> None:
    from datasets import Dataset, Features, List, Value

    index = random_index(5, 2)
    folder = save_index(index, tmp_path / "idx")
    features = Features({"faq_id": Value("string"), "text": Value("string"),
                         "embedding": List(Value("float32"), length=index.dim)})
    Dataset.from_dict({"faq_id": [index.faqs[i].id for i in index.owner], "text": index.texts,
                       "embedding": index.vectors}, features=features).to_parquet(
        str(folder / "phrasings" / "train.parquet"))
    loaded = load_index(folder)
    np.testing.assert_allclose(loaded.vectors, index.vectors, atol=1e-7)
    assert loaded.texts == index.texts


def test_shards_are_read_in_name_order(tmp_path: Path) -> None:
    index = random_index(4, 2)
    folder = save_index(index, tmp_path / "idx")
    first, second = random_index(2, 2), random_index(4, 2)
    # Two shards of the phrasings table: FAQs f0-f1, then f2-f3 (written from their own arrays).
    tables.write_phrasings(["f0", "f1"], first.owner, first.texts, index.vectors[:4],
                           folder / "phrasings" / "train-00000.parquet")
    tables.write_phrasings(["f0", "f1", "f2", "f3"], second.owner[4:], second.texts[4:], index.vectors[4:],
                           folder / "phrasings" / "train-00001.parquet")
    (folder / "phrasings" / "train.parquet").unlink()
    loaded = load_index(folder)
    np.testing.assert_allclose(loaded.vectors, index.vectors, atol=2e-7)
    assert loaded.owner.tolist() == [0, 0, 1, 1, 2, 2, 3, 3]


@pytest.mark.parametrize(("damage", "message"), [
    ("unknown-faq", "phrasing of unknown FAQ 'nope'"),
    ("ragged", "different lengths"),
    ("no-embedding", "lacks embedding"),
    ("null", "without an embedding"),
])
def test_malformed_phrasings_are_refused_with_a_sentence(tmp_path: Path, damage: str, message: str) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    folder = save_index(random_index(2, 1, dim=3), tmp_path / "idx")
    columns: dict[str, object] = {"faq_id": ["f0", "f1"], "text": ["a", "b"],
                                  "embedding": pa.array([[1.0, 0, 0], [0, 1.0, 0]], pa.list_(pa.float32()))}
    if damage == "unknown-faq":
        columns["faq_id"] = ["f0", "nope"]
    elif damage == "ragged":
        columns["embedding"] = pa.array([[1.0, 0, 0], [0, 1.0]], pa.list_(pa.float32()))
    elif damage == "no-embedding":
        del columns["embedding"]
    else:
        columns["embedding"] = pa.array([[1.0, 0, 0], None], pa.list_(pa.float32()))
    pq.write_table(pa.table(columns), folder / "phrasings" / "train.parquet")
    with pytest.raises(IndexLoadError, match=message) as caught:
        load_index(folder)
    assert str(caught.value).startswith(f"cannot load the FAQ index {folder}")


def test_a_hub_revision_is_read_from_the_hub_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The Hub cache layout huggingface_hub itself reads offline: blobs by
    snapshot commit, and ``refs/main`` naming the commit."""
    index = random_index(3, 2)
    built = save_index(index, tmp_path / "built")
    hub_cache = tmp_path / "hub"
    monkeypatch.setenv("HF_HUB_CACHE", str(hub_cache))
    import huggingface_hub.constants as hub_constants

    monkeypatch.setattr(hub_constants, "HF_HUB_CACHE", str(hub_cache))
    commit = "0123456789abcdef0123456789abcdef01234567"
    repo = hub_cache / "datasets--someone--faq-index"
    snapshot = repo / "snapshots" / commit
    shutil.copytree(built, snapshot)
    (repo / "refs").mkdir(parents=True)
    (repo / "refs" / "main").write_text(commit)

    pinned = load_index("someone/faq-index", revision=commit)
    latest = load_index("someone/faq-index")
    for loaded in (pinned, latest):
        np.testing.assert_allclose(loaded.vectors, index.vectors, atol=2e-7)
        assert loaded.texts == index.texts and loaded.location == "someone/faq-index"
    assert pinned.revision == commit
    with pytest.raises(IndexLoadError, match="someone/faq-index"):
        load_index("someone/faq-index", revision="fedcba9876543210fedcba9876543210fedcba98")
