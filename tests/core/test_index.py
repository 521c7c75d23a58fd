"""The FAQ index on disk: a folder laid out like a Hub dataset repo, written
atomically, loaded with pyarrow (and readable by ``datasets.load_dataset``), refused when its vectors
cannot be compared with the query embedder's."""

from __future__ import annotations

import csv
import hashlib
import json
import os
import re
import stat
import time
from dataclasses import replace
from datetime import datetime
from pathlib import Path

import numpy as np
import pytest
import yaml

from faq_core.embedders import LocalEmbedder
from faq_core.engine import FAQEngine
from faq_core.errors import (
    FAQBotError,
    FAQSourceError,
    HubDownError,
    IndexLoadError,
    IndexMismatchError,
    IndexWriteError,
    ServiceError,
)
from faq_core.faqs import load_faqs
from faq_core.index import (
    PHRASINGS,
    FAQIndex,
    IndexMeta,
    build_index,
    build_index_from_source,
    is_hub_repo_id,
    load_index,
    local_revision,
    save_index,
    source_digest,
    write_meta,
)
from faq_core.sample import sample_source
from faq_core.seed_import import import_seed
from faq_core.threshold import with_auto_threshold
from tests.core.conftest import TableEmbedder, closed_port, write

SOURCE = """id,question,answer,url,alternates,tags
card,How do I get a replacement Medicare card?,Order a new one online.,https://www.medicare.gov/,I lost my card,card
tricare,What is TRICARE ?,Health care for the military.,,,military
signup,How do I sign up for Medicare?,Apply with Social Security.,,How do I apply?|When do I enroll?,
"""


@pytest.fixture(scope="module")
def small_source(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write(tmp_path_factory.mktemp("src") / "faqs.csv", SOURCE)


@pytest.fixture(scope="module")
def small_index(small_source: Path, local_embedder: LocalEmbedder) -> FAQIndex:
    return with_auto_threshold(build_index(load_faqs(small_source), local_embedder,
                                           source_sha256=source_digest(small_source), source_name=small_source.name))


def snapshot(folder: Path) -> dict[str, str]:
    """Every file under ``folder`` with the sha256 of its bytes."""
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*")) if p.is_file()
    }


def test_build_groups_phrasings_by_faq(small_index: FAQIndex, local_embedder: LocalEmbedder) -> None:
    assert [f.id for f in small_index.faqs] == ["card", "tricare", "signup"]
    assert small_index.texts == [
        "How do I get a replacement Medicare card?", "I lost my card", "What is TRICARE ?",
        "How do I sign up for Medicare?", "How do I apply?", "When do I enroll?",
    ]
    assert small_index.owner.tolist() == [0, 0, 1, 2, 2, 2]
    assert small_index.starts.tolist() == [0, 2, 3] and small_index.ends.tolist() == [2, 3, 6]
    assert small_index.vectors.dtype == np.float32 and small_index.vectors.shape == (6, 384)
    np.testing.assert_allclose(small_index.vectors, local_embedder.embed(small_index.texts), atol=1e-6)
    faq = small_index.faq_by_id("tricare")
    assert faq is not None and faq.tags == ("military",)
    assert small_index.faq_by_id("nope") is None


def test_metadata_fields(small_index: FAQIndex, small_source: Path) -> None:
    meta = small_index.meta
    assert meta.model_id == "sentence-transformers/all-MiniLM-L6-v2"
    assert meta.dim == 384
    assert meta.normalization == "unit-l2"
    assert meta.backend == "local"
    assert meta.source_sha256 == hashlib.sha256(small_source.read_bytes()).hexdigest()
    assert meta.source_name == "faqs.csv"
    assert (meta.faq_count, meta.phrasing_count) == (3, 6)
    built = datetime.fromisoformat(meta.built_at)
    assert built.tzinfo is not None
    assert abs(time.time() - built.timestamp()) < 3600


def test_saved_folder_is_laid_out_like_a_hub_dataset_repo(small_index: FAQIndex, tmp_path: Path) -> None:
    folder = save_index(small_index, tmp_path / "idx")
    files = set(snapshot(folder))
    assert {"README.md", "faq_index.json", "phrasings/train.parquet", "faqs/train.parquet",
            "state/MANIFEST", "state/vectors.npy"} <= files
    assert all(name.startswith("state/") for name in files - {"README.md", "faq_index.json", "phrasings/train.parquet",
                                                              "faqs/train.parquet"})
    card = (folder / "README.md").read_text(encoding="utf-8")
    front = yaml.safe_load(card.split("---")[1])
    configs = {c["config_name"]: c for c in front["configs"]}
    assert configs["phrasings"]["data_files"] == [{"split": "train", "path": "phrasings/train.parquet"}]
    assert configs["phrasings"].get("default") is True
    assert configs["faqs"]["data_files"] == [{"split": "train", "path": "faqs/train.parquet"}]
    meta = json.loads((folder / "faq_index.json").read_text(encoding="utf-8"))
    assert meta["model_id"] == small_index.meta.model_id and meta["dim"] == 384

    # A plain `datasets` user sees two tables, the default one being the phrasings.
    # (datasets keys a local folder repo's cache and schema by the folder's
    # name, not its full path: another test's folder called "idx" would answer.)
    from datasets import load_dataset

    folder = folder.rename(tmp_path / "hub-layout-check")
    default = load_dataset(str(folder), split="train")
    assert default.column_names == ["faq_id", "text", "embedding"]
    assert default["faq_id"] == ["card", "card", "tricare", "signup", "signup", "signup"]
    faqs = load_dataset(str(folder), "faqs", split="train")
    assert faqs[2]["alternates"] == ["How do I apply?", "When do I enroll?"]


def test_save_load_roundtrip(small_index: FAQIndex, tmp_path: Path) -> None:
    folder = save_index(small_index, tmp_path / "idx")
    loaded = load_index(folder)
    assert loaded.faqs == small_index.faqs
    assert loaded.texts == small_index.texts
    assert loaded.owner.tolist() == small_index.owner.tolist()
    assert loaded.meta == small_index.meta
    assert loaded.vectors.dtype == np.float32
    np.testing.assert_allclose(loaded.vectors, small_index.vectors, atol=1e-7)
    assert loaded.location == str(folder)
    assert loaded.revision == local_revision(folder) and loaded.revision.startswith("local-")  # the folder's build


def test_a_failure_while_saving_leaves_the_old_folder_intact(
    small_index: FAQIndex, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = save_index(small_index, tmp_path / "idx")
    before = snapshot(folder)
    smaller = replace(small_index)  # any change would do; the write below fails anyway
    import faq_core.index as index_module

    def broken_card(meta: IndexMeta) -> str:
        raise OSError("disk full")

    monkeypatch.setattr(index_module, "dataset_card", broken_card)
    with pytest.raises(OSError, match="disk full"):
        save_index(smaller, folder)
    assert snapshot(folder) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["idx"]  # no half-written siblings left
    load_index(folder)  # and it still loads


def test_a_failure_writing_a_new_folder_leaves_nothing(
    small_index: FAQIndex, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import faq_core.index_tables as tables

    def faqs_write_fails(*args: object, **kwargs: object) -> None:  # the second table, after the phrasings
        raise OSError("no space left")

    monkeypatch.setattr(tables, "write_faqs", faqs_write_fails)
    with pytest.raises(OSError, match="no space left"):
        save_index(small_index, tmp_path / "new")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("offline", [True, False])
def test_a_hub_id_out_of_reach_is_a_clean_error_that_names_both_readings(
    offline: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``user/name`` with no such folder and no Hub to ask: with HF_HUB_OFFLINE a setting says so (the
    Hub is not asked); with the Hub down a service failed. Either way the message says both readings."""
    import huggingface_hub.constants as hub_constants

    monkeypatch.setattr(hub_constants, "HF_HUB_OFFLINE", offline)
    with pytest.raises(FAQBotError) as caught:
        load_index("someone/faq-index", revision="main", endpoint=f"http://127.0.0.1:{closed_port()}")
    message = str(caught.value)
    assert message.startswith("there is no folder someone/faq-index here, and ")
    if offline:
        assert type(caught.value) is IndexLoadError
        assert "HF_HUB_OFFLINE is set, so the Hub is not asked" in message
    else:
        assert isinstance(caught.value, HubDownError) and isinstance(caught.value, ServiceError)
        assert "could not be reached for someone/faq-index@main" in message and "(3 attempts)" in message
        assert "the local Hub cache does not hold someone/faq-index@main either" in message


@pytest.mark.parametrize("location", ["no/such/folder/here", "./nosuch", "../nosuch", "/no/such", "~/nosuch",
                                      "nosuch/faqs.csv", "nosuch/index.parquet"])
def test_a_location_that_looks_like_a_path_is_never_taken_for_a_hub_id(location: str) -> None:
    assert not is_hub_repo_id(location)
    with pytest.raises(IndexLoadError, match=f"no such folder '{re.escape(location)}', and not a Hub dataset id"):
        load_index(location)


def test_a_file_is_not_an_index_folder(tmp_path: Path) -> None:
    source = write(tmp_path / "faqs.csv", "question\nWhy?\n")
    with pytest.raises(IndexLoadError, match="is a file, not an FAQ index folder"):
        load_index(source)


def test_a_folder_that_is_not_an_index(tmp_path: Path) -> None:
    (tmp_path / "stuff").mkdir()
    with pytest.raises(IndexLoadError, match=r"has no faq_index.json .*faq-bot index build"):
        load_index(tmp_path / "stuff")


def test_corrupt_metadata_and_data(small_index: FAQIndex, tmp_path: Path) -> None:
    folder = save_index(small_index, tmp_path / "idx")
    meta_file = folder / "faq_index.json"
    meta_file.write_text("{not json", encoding="utf-8")
    with pytest.raises(IndexLoadError, match="not valid index metadata"):
        load_index(folder)
    meta_file.write_text(json.dumps({"model_id": "x"}), encoding="utf-8")
    with pytest.raises(IndexLoadError, match="lacks dim"):
        load_index(folder)
    meta = json.loads(json.dumps(small_index.meta.__dict__))
    meta["dim"] = 768
    meta_file.write_text(json.dumps(meta), encoding="utf-8")
    with pytest.raises(IndexLoadError, match="metadata says 768"):
        load_index(folder)
    meta["dim"] = 384
    meta_file.write_text(json.dumps(meta), encoding="utf-8")
    (folder / "faqs" / "train.parquet").write_bytes(b"PAR1 this is not parquet")
    with pytest.raises(IndexLoadError, match="cannot load the FAQ index"):
        load_index(folder)


def test_model_and_dimension_mismatch_is_refused_with_a_fix(small_index: FAQIndex) -> None:
    other = TableEmbedder({"q": np.ones(768, dtype=np.float32)}, model_id="sentence-transformers/all-mpnet-base-v2")
    with pytest.raises(IndexMismatchError) as caught:
        FAQEngine(small_index, other)
    message = str(caught.value)
    assert "all-MiniLM-L6-v2" in message and "all-mpnet-base-v2" in message
    assert "EMBEDDING_MODEL=sentence-transformers/all-MiniLM-L6-v2" in message
    assert "faq-bot index build" in message

    same_name_other_size = TableEmbedder({"q": np.ones(512, dtype=np.float32)})
    with pytest.raises(IndexMismatchError, match="dimension 512"):
        FAQEngine(small_index, same_name_other_size)

    other_norm = replace(small_index, meta=replace(small_index.meta, normalization="none"))
    with pytest.raises(IndexMismatchError, match="rebuild it"):
        FAQEngine(other_norm, TableEmbedder({"q": np.ones(384, dtype=np.float32)}))


def test_an_unknown_models_dimension_is_checked_after_the_first_reply(small_index: FAQIndex) -> None:
    unknown = TableEmbedder({"q": np.ones(300, dtype=np.float32)}, model_id="sentence-transformers/all-MiniLM-L6-v2")
    unknown.dim = None  # as for a model not in KNOWN_DIMS: learnt from the first response
    engine = FAQEngine(small_index, unknown)
    with pytest.raises(IndexMismatchError, match="dimension 300"):
        engine.answer("q")


def test_write_meta_replaces_the_metadata(small_index: FAQIndex, tmp_path: Path) -> None:
    folder = save_index(small_index, tmp_path / "idx")
    write_meta(folder, replace(small_index.meta, min_score=0.61, calibration={"target": 0.9}))
    loaded = load_index(folder)
    assert loaded.meta.min_score == pytest.approx(0.61)
    assert loaded.meta.calibration == {"target": 0.9}
    assert not list(folder.glob("*.tmp"))


# -- the seed article's layout -------------------------------------------------------


def write_seed_csv(path: Path, matrix: np.ndarray) -> Path:
    """As ``pandas.DataFrame(output).to_csv(index=False)`` wrote it: header 0..383."""
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(range(matrix.shape[1]))
        writer.writerows([[repr(float(v)) for v in row] for row in matrix])
    return path


@pytest.fixture(scope="module")
def seed_questions() -> list[str]:
    return [f.question for f in load_faqs(sample_source())]


@pytest.fixture(scope="module")
def seed_matrix(local_embedder: LocalEmbedder, seed_questions: list[str]) -> np.ndarray:
    return local_embedder.embed(seed_questions)


def test_import_seed_makes_a_proper_index(
    tmp_path: Path, seed_questions: list[str], seed_matrix: np.ndarray, local_embedder: LocalEmbedder
) -> None:
    embeddings = write_seed_csv(tmp_path / "embeddings.csv", seed_matrix)
    questions = write(tmp_path / "questions.txt", "\n".join(seed_questions) + "\n")
    index = import_seed(embeddings, questions, "all-MiniLM-L6-v2")
    assert index.texts == seed_questions
    assert index.meta.model_id == "sentence-transformers/all-MiniLM-L6-v2"
    assert index.meta.backend == "imported"
    assert (index.meta.faq_count, index.meta.phrasing_count, index.meta.dim) == (13, 13, 384)
    np.testing.assert_allclose(index.vectors, local_embedder.embed(seed_questions), atol=1e-6)
    # It is a real index: saved, loaded, and served against the local model.
    loaded = load_index(save_index(index, tmp_path / "imported"))
    answer = FAQEngine(loaded, local_embedder).answer("I lost my Medicare card", k=1)
    assert answer.best is not None and answer.best.question == "How do I get a replacement Medicare card?"


def test_import_seed_with_an_faq_source_for_the_questions(tmp_path: Path, seed_matrix: np.ndarray) -> None:
    # The bundled sample has alternates, which the seed layout has no vectors for.
    embeddings = write_seed_csv(tmp_path / "embeddings.csv", seed_matrix)
    with pytest.raises(FAQSourceError, match="alternates have none"):
        import_seed(embeddings, sample_source(), "sentence-transformers/all-MiniLM-L6-v2")
    plain = write(tmp_path / "q.csv", "id,question\n" + "".join(f"q{i},Question {i}?\n" for i in range(13)))
    index = import_seed(embeddings, plain, "sentence-transformers/all-MiniLM-L6-v2")
    assert [f.id for f in index.faqs] == [f"q{i}" for i in range(13)]


def test_import_seed_row_count_mismatch(tmp_path: Path, seed_questions: list[str], seed_matrix: np.ndarray) -> None:
    embeddings = write_seed_csv(tmp_path / "embeddings.csv", seed_matrix[:12])
    questions = write(tmp_path / "questions.txt", "\n".join(seed_questions))
    with pytest.raises(FAQSourceError, match="12 embedding rows but 13 questions"):
        import_seed(embeddings, questions, "sentence-transformers/all-MiniLM-L6-v2")


def test_import_seed_non_numeric_cell_names_the_line(tmp_path: Path, seed_matrix: np.ndarray) -> None:
    embeddings = write_seed_csv(tmp_path / "embeddings.csv", seed_matrix)
    lines = embeddings.read_text(encoding="utf-8").splitlines()
    lines[4] = lines[4].replace(",", ",oops,", 1).replace(",", "", 1)  # line 5: one cell is not a number
    embeddings.write_text("\n".join(lines) + "\n", encoding="utf-8")
    with pytest.raises(FAQSourceError) as caught:
        import_seed(embeddings, write(tmp_path / "q.txt", "a\n" * 13), "sentence-transformers/all-MiniLM-L6-v2")
    assert caught.value.line == 5
    assert str(caught.value).startswith(f"{embeddings}:5: ")


def test_import_seed_width_and_empty_errors(tmp_path: Path, seed_matrix: np.ndarray) -> None:
    narrow = write_seed_csv(tmp_path / "narrow.csv", seed_matrix[:, :100])
    questions = write(tmp_path / "q.txt", "\n".join(f"q{i}" for i in range(13)))
    with pytest.raises(FAQSourceError, match=r"rows have 100 values but .* has dimension 384"):
        import_seed(narrow, questions, "sentence-transformers/all-MiniLM-L6-v2")
    ragged = write(tmp_path / "ragged.csv", "0,1,2\n0.1,0.2,0.3\n0.1,0.2\n")
    with pytest.raises(FAQSourceError) as caught:
        import_seed(ragged, questions, "sentence-transformers/all-MiniLM-L6-v2")
    assert caught.value.line == 3
    with pytest.raises(FAQSourceError, match="empty file"):
        import_seed(write(tmp_path / "empty.csv", "0,1,2\n"), questions, "sentence-transformers/all-MiniLM-L6-v2")


# -- where an index may be written ------------------------------------------------------------


def _tree(folder: Path) -> dict[str, str]:
    """Every file and folder under ``folder``: a file with the sha256 of its bytes."""
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest() if p.is_file() else "dir"
            for p in sorted(folder.rglob("*"))}


@pytest.mark.parametrize(
    ("target", "because"),
    [
        ("notes.txt", "is a file, not an index folder"),
        ("project", "is a folder that is not an FAQ index"),
        ("faqs.csv", "would replace the FAQ source"),
        ("src", "would replace the FAQ source"),
        (".", "is the current folder or contains it"),
        ("..", "is the current folder or contains it"),
    ],
)
def test_an_out_that_is_not_an_index_is_refused_and_nothing_is_touched(
    small_index: FAQIndex, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, target: str, because: str
) -> None:
    work = tmp_path / "work"
    write(work / "notes.txt", "my notes\n")
    write(work / "project" / "plan.md", "plan\n")
    write(work / "project" / "sub" / "data.bin", b"\x00\x01")
    source = write(work / "src" / "faqs.csv", SOURCE)
    monkeypatch.chdir(work / "src" if target in (".", "..", "faqs.csv") else work)
    before = _tree(tmp_path)
    with pytest.raises(IndexWriteError) as caught:
        save_index(small_index, target, sources=[source])
    message = str(caught.value)
    assert because in message and "--force" in message and "\n" not in message
    assert _tree(tmp_path) == before


@pytest.mark.parametrize("target", ["faqs.csv", "src", ".", ".."])
def test_force_never_replaces_the_source_or_the_current_folder(
    small_index: FAQIndex, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, target: str
) -> None:
    source = write(tmp_path / "work" / "src" / "faqs.csv", SOURCE)
    monkeypatch.chdir(tmp_path / "work" / "src" if target != "src" else tmp_path / "work")
    before = _tree(tmp_path)
    with pytest.raises(IndexWriteError):
        save_index(small_index, target, sources=[source], force=True)
    assert _tree(tmp_path) == before


def test_force_replaces_a_file_and_writes_into_a_folder_that_is_not_an_index(
    small_index: FAQIndex, tmp_path: Path
) -> None:
    write(tmp_path / "notes.txt", "my notes\n")
    write(tmp_path / "project" / "plan.md", "plan\n")
    for name in ("notes.txt", "project"):
        folder = save_index(small_index, tmp_path / name, force=True)
        assert load_index(folder).meta == small_index.meta
    assert (tmp_path / "project" / "plan.md").read_text(encoding="utf-8") == "plan\n"  # a folder's files are kept
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notes.txt", "project"]  # no siblings left


def test_an_empty_folder_or_an_existing_index_is_replaced_without_force(
    small_index: FAQIndex, tmp_path: Path
) -> None:
    (tmp_path / "empty").mkdir()
    save_index(small_index, tmp_path / "empty")
    save_index(small_index, tmp_path / "empty")  # now an index: replaced again
    assert load_index(tmp_path / "empty").meta == small_index.meta
    assert sorted(p.name for p in tmp_path.iterdir()) == ["empty"]


def failing_renames(monkeypatch: pytest.MonkeyPatch, failing: set[int], error: OSError) -> list[tuple[str, str]]:
    """Make the index module's renames number ``failing`` (counted from 1) raise ``error``;
    returns the (source, destination) names of every rename tried."""
    import faq_core.index as index_module

    real_replace = os.replace
    calls: list[tuple[str, str]] = []

    def replace(src: str | os.PathLike[str], dst: str | os.PathLike[str]) -> None:
        calls.append((Path(src).name, Path(dst).name))
        if len(calls) in failing:
            raise error
        real_replace(src, dst)

    monkeypatch.setattr(index_module.os, "replace", replace)
    return calls


def test_a_failed_second_rename_puts_the_replaced_file_back(
    small_index: FAQIndex, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = write(tmp_path / "idx", "a file --force replaces\n")
    # the second rename moves the new folder in, after the file was moved aside
    calls = failing_renames(monkeypatch, {2}, OSError(28, "No space left on device"))
    with pytest.raises(IndexWriteError, match="No space left on device") as caught:
        save_index(small_index, target, force=True)
    assert "unchanged" in str(caught.value)
    assert calls[0][0] == "idx" and calls[1][1] == "idx" and calls[2][1] == "idx"  # aside, in (failed), back
    assert target.read_text(encoding="utf-8") == "a file --force replaces\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["idx"]


def test_a_new_index_folder_follows_the_umask(small_index: FAQIndex, tmp_path: Path) -> None:
    previous = os.umask(0o022)
    try:
        folder = save_index(small_index, tmp_path / "idx")
    finally:
        os.umask(previous)
    assert stat.S_IMODE(folder.stat().st_mode) == 0o755
    assert stat.S_IMODE((folder / PHRASINGS).stat().st_mode) == 0o755


def test_faq_metadata_travels_with_the_index_and_its_hub_layout(
    tmp_path: Path, local_embedder: LocalEmbedder
) -> None:
    source = write(tmp_path / "sheet.csv", "id,question,answer,owner,last reviewed\n"
                                           "vpn,How do I use the VPN?,Install it.,it-team,2024-05-01\n"
                                           "wifi,What is the wifi password?,Ask reception.,,\n")
    index = with_auto_threshold(build_index_from_source(source, local_embedder))
    assert index.meta.metadata_columns == ["owner", "last reviewed"]
    folder = save_index(index, tmp_path / "metadata-layout-check")
    loaded = load_index(folder)
    assert loaded.faqs == index.faqs
    assert loaded.faqs[0].metadata == {"owner": "it-team", "last reviewed": "2024-05-01"}
    assert loaded.faqs[1].metadata == {}
    assert loaded.meta.metadata_columns == ["owner", "last reviewed"]
    from datasets import load_dataset

    faqs = load_dataset(str(folder), "faqs", split="train")  # as a Hub user would read it
    assert json.loads(faqs[0]["metadata"]) == {"owner": "it-team", "last reviewed": "2024-05-01"}
    assert faqs[1]["metadata"] is None
    assert "`metadata`" in (folder / "README.md").read_text(encoding="utf-8")


def test_an_index_written_before_metadata_existed_still_loads(small_index: FAQIndex, tmp_path: Path) -> None:
    import pyarrow.parquet as pq

    folder = save_index(small_index, tmp_path / "old-index")
    table = pq.read_table(folder / "faqs" / "train.parquet")
    pq.write_table(table.drop_columns(["metadata"]), folder / "faqs" / "train.parquet")
    meta = json.loads((folder / "faq_index.json").read_text(encoding="utf-8"))
    del meta["metadata_columns"]
    (folder / "faq_index.json").write_text(json.dumps(meta), encoding="utf-8")
    loaded = load_index(folder)
    assert loaded.faqs == small_index.faqs and all(f.metadata == {} for f in loaded.faqs)
    assert loaded.meta.metadata_columns == []


def test_a_symbolic_link_is_replaced_only_with_force_and_its_target_is_kept(
    small_index: FAQIndex, tmp_path: Path
) -> None:
    target = save_index(small_index, tmp_path / "v1")
    before = _tree(target)
    (tmp_path / "current").symlink_to(target, target_is_directory=True)
    with pytest.raises(IndexWriteError, match=r"is a symbolic link: .* add --force"):
        save_index(small_index, tmp_path / "current")
    folder = save_index(small_index, tmp_path / "current", force=True)
    assert not folder.is_symlink() and load_index(folder).meta == small_index.meta
    assert _tree(target) == before  # what the link pointed to is untouched


def test_an_out_below_a_file_is_a_one_line_error(small_index: FAQIndex, tmp_path: Path) -> None:
    write(tmp_path / "notes.txt", "mine\n")
    with pytest.raises(IndexWriteError, match=r"cannot create the index folder .*notes\.txt/idx"):
        save_index(small_index, tmp_path / "notes.txt" / "idx")
    assert (tmp_path / "notes.txt").read_text(encoding="utf-8") == "mine\n"


def test_if_even_the_undo_fails_the_error_says_where_the_replaced_file_is(
    small_index: FAQIndex, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = write(tmp_path / "idx", "a file --force replaces\n")
    failing_renames(monkeypatch, {2, 3}, OSError(5, "Input/output error"))  # moving in, and moving back
    with pytest.raises(IndexWriteError, match="the previous one is kept in ") as caught:
        save_index(small_index, target, force=True)
    kept = Path(str(caught.value).rsplit("kept in ", 1)[1])
    assert kept.parent == tmp_path and kept.name.startswith(".idx.old-")
    assert kept.read_text(encoding="utf-8") == "a file --force replaces\n"
    assert "unchanged" not in str(caught.value)
