"""What an index folder stores besides its tables (``state/``): written with
every saved index, loaded memory-mapped instead of recomputed, refused when it
belongs to other tables or another scorer set-up; an index without it (built
by an older faq-bot) answers exactly as one with it."""

from __future__ import annotations

import json
import logging
import shutil
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from faq_core import scoring
from faq_core.embedders import LocalEmbedder
from faq_core.engine import FAQEngine
from faq_core.index import FAQIndex, load_index, save_index, store_state
from faq_core.index_state import MANIFEST, STATE, VECTORS_FILE
from faq_core.scoring import SETUP_PART, BlendScorer
from tests.faq_sources import build_folder, changed_rows, sample_rows

QUESTIONS = [
    "I lost my Medicare card, how do I get a new one?", "When can I sign up for Part B?",
    "Does Medicare cover dental cleanings?", "What is the capital of France?", "how much is the part b premium",
    "Can I change my drug plan?", "", "ambulance",
]


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory, local_embedder: LocalEmbedder) -> Path:
    """The sample FAQs built and saved as ``faq-bot index build`` does."""
    return build_folder(sample_rows(), tmp_path_factory.mktemp("state") / "built", local_embedder)


def without_state(folder: Path, out: Path) -> Path:
    """A copy of ``folder`` as an older faq-bot wrote it: no ``state/``."""
    shutil.copytree(folder, out)
    shutil.rmtree(out / STATE)
    return out


def answers(index: FAQIndex, embedder: LocalEmbedder) -> list[tuple[str, str, list[str], list[float], float]]:
    engine = FAQEngine(index, embedder)
    return [(a.outcome.value, a.query, [m.faq_id for m in a.matches], [m.score for m in a.matches], a.confidence)
            for a in engine.answer_many(QUESTIONS)] + [("threshold", engine.threshold_source, [], [], engine.threshold)]


def assert_same_answers(left: list, right: list) -> None:  # type: ignore[type-arg]
    assert [(o, q, ids) for o, q, ids, _, _ in left] == [(o, q, ids) for o, q, ids, _, _ in right]
    for (*_, scores_l, conf_l), (*_, scores_r, conf_r) in zip(left, right, strict=True):
        np.testing.assert_allclose(scores_l, scores_r, atol=1e-5)
        assert conf_l == pytest.approx(conf_r, abs=1e-5)


def test_a_saved_index_stores_its_vectors_and_the_scorers_setup(built: Path) -> None:
    manifest = json.loads((built / STATE / MANIFEST).read_text(encoding="utf-8"))
    assert manifest["vectors"]["file"] == VECTORS_FILE
    assert manifest["parts"][SETUP_PART]["version"].startswith(scoring.SETUP_VERSION)
    for spec in manifest["parts"][SETUP_PART]["arrays"].values():
        assert (built / STATE / spec["file"]).is_file()
    index = load_index(built)
    assert index.derived.not_used is None
    assert not index.vectors.flags.writeable  # mapped from state/vectors.npy, read-only
    np.testing.assert_allclose(np.linalg.norm(index.vectors, axis=1), 1.0, atol=1e-5)


def test_loading_maps_the_stored_setup_instead_of_computing_it(
    built: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    calls: list[int] = []
    compute = BlendScorer._set_up

    def counted(self: BlendScorer, *args: object) -> None:
        calls.append(1)
        compute(self, *args)  # type: ignore[arg-type]

    monkeypatch.setattr(BlendScorer, "_set_up", counted)
    BlendScorer(load_index(built))
    assert calls == []
    BlendScorer(load_index(without_state(built, tmp_path / "old")))
    assert calls == [1]


def test_an_old_index_answers_identically_and_says_once_to_rebuild(
    built: Path, tmp_path: Path, local_embedder: LocalEmbedder, caplog: pytest.LogCaptureFixture,
) -> None:
    new = answers(load_index(built), local_embedder)
    with caplog.at_level(logging.INFO, logger="faq_core"):
        old_index = load_index(without_state(built, tmp_path / "old"))
        old = answers(old_index, local_embedder)
        FAQEngine(old_index, local_embedder)  # a second engine on the same index: no second line
    assert_same_answers(new, old)
    lines = [r.getMessage() for r in caplog.records if "rebuild the index" in r.getMessage()]
    assert len(lines) == 1 and "older faq-bot" in lines[0]
    assert any(o == "answered" for o, *_ in new) and any(o == "no_match" for o, *_ in new)


def test_state_left_beside_other_tables_is_not_used(
    built: Path, tmp_path: Path, local_embedder: LocalEmbedder, caplog: pytest.LogCaptureFixture,
) -> None:
    other = build_folder(changed_rows(suffix=" (v2)"), tmp_path / "v2", local_embedder)
    expected = answers(load_index(without_state(other, tmp_path / "v2-old")), local_embedder)
    shutil.rmtree(other / STATE)
    shutil.copytree(built / STATE, other / STATE)  # another build's state, e.g. copied by hand
    with caplog.at_level(logging.INFO, logger="faq_core"):
        index = load_index(other)
        got = answers(index, local_embedder)
    assert index.derived.not_used is not None and "other tables" in index.derived.not_used
    assert index.vectors.flags.writeable  # decoded from the Parquet table, not the stale matrix
    assert_same_answers(got, expected)
    assert sum("rebuild the index" in r.getMessage() for r in caplog.records) == 1


def test_a_setup_of_another_version_is_recomputed(
    built: Path, local_embedder: LocalEmbedder, monkeypatch: pytest.MonkeyPatch,
) -> None:
    expected = answers(load_index(built), local_embedder)
    monkeypatch.setattr(scoring, "SETUP_VERSION", "blend-setup-next")
    index = load_index(built)
    assert index.derived.get(SETUP_PART, "blend-setup-next") is None
    assert_same_answers(answers(index, local_embedder), expected)
    assert index.derived.parts[SETUP_PART].version.startswith("blend-setup-next")


def test_a_corrupt_or_mismatched_state_file_falls_back_to_the_tables(
    built: Path, tmp_path: Path, local_embedder: LocalEmbedder,
) -> None:
    expected = answers(load_index(built), local_embedder)
    broken = tmp_path / "broken"
    shutil.copytree(built, broken)
    np.save(broken / STATE / VECTORS_FILE, np.zeros((3, 7), dtype=np.float32))
    index = load_index(broken)
    assert index.derived.not_used is not None and "unreadable" in index.derived.not_used
    assert_same_answers(answers(index, local_embedder), expected)
    (broken / STATE / MANIFEST).write_text("{not json", encoding="utf-8")
    assert "cannot be read" in str(load_index(broken).derived.not_used)


def test_new_vectors_drop_what_was_derived_from_the_old_ones(built: Path) -> None:
    index = load_index(built)
    assert index.derived.get(SETUP_PART, index.derived.parts[SETUP_PART].version) is not None
    same = replace(index, meta=replace(index.meta, min_score=0.5))
    assert SETUP_PART in same.derived.parts
    moved = replace(index, vectors=np.ascontiguousarray(index.vectors[:, ::-1]))
    assert moved.derived.parts == {}


def test_saving_in_place_replaces_the_state_and_removes_a_stale_part(
    built: Path, tmp_path: Path, local_embedder: LocalEmbedder,
) -> None:
    folder = tmp_path / "served"
    shutil.copytree(built, folder)
    (folder / STATE / "retired.weights.npy").write_bytes(b"left by an older part")
    save_index(load_index(build_folder(changed_rows(suffix=" (v2)"), tmp_path / "v2", local_embedder)), folder)
    assert not (folder / STATE / "retired.weights.npy").exists()
    index = load_index(folder)
    assert index.derived.not_used is None and len(index.vectors) == len(index.texts)
    assert any(" (v2)" in faq.answer for faq in index.faqs)


def test_calibrate_stores_the_state_an_old_folder_lacks(
    built: Path, tmp_path: Path, local_embedder: LocalEmbedder,
) -> None:
    old = without_state(built, tmp_path / "old")
    expected = answers(load_index(old), local_embedder)
    index = load_index(old)
    FAQEngine(index, local_embedder)
    assert store_state(index, old)
    reloaded = load_index(old)
    assert reloaded.derived.not_used is None and not reloaded.vectors.flags.writeable
    assert_same_answers(answers(reloaded, local_embedder), expected)


def test_the_folder_stays_a_dataset_datasets_reads(built: Path, tmp_path: Path) -> None:
    from datasets import load_dataset

    folder = Path(shutil.copytree(built, tmp_path / "state-layout-check"))  # datasets caches by folder name
    phrasings = load_dataset(str(folder), split="train")
    assert phrasings.column_names == ["faq_id", "text", "embedding"]
    assert len(phrasings) == len(load_index(folder).texts)
    assert len(load_dataset(str(folder), "faqs", split="train")) == len(load_index(folder).faqs)
