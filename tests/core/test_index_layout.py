"""The index folder is a valid Hub dataset repo, and rebuilding it in place is
never served stale from the datasets cache."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from datasets import load_dataset

from faq_core.embedders.base import Embedder
from faq_core.faqs import FAQ
from faq_core.index import build_index, load_index, save_index
from faq_core.threshold import with_auto_threshold


class _SeededEmbedder(Embedder):
    """Deterministic vectors from a seed: enough to tell two builds apart."""

    backend = "seeded"

    def __init__(self, seed: int) -> None:
        super().__init__("test/seeded-model")
        self._rng = np.random.default_rng(seed)

    def _embed_batch(self, texts: list[str]) -> np.ndarray:
        return self._rng.standard_normal((len(texts), 16)).astype(np.float32)


def test_folder_loads_by_config_name_like_a_hub_repo(tmp_path: Path) -> None:
    faqs = [FAQ("a", "first?", alternates=("1st?",)), FAQ("b", "second?")]
    index = with_auto_threshold(build_index(faqs, _SeededEmbedder(1)))
    folder = save_index(index, tmp_path / "idx")

    phrasings = load_dataset(str(folder), "phrasings", split="train")
    faq_rows = load_dataset(str(folder), "faqs", split="train")

    assert phrasings["faq_id"] == ["a", "a", "b"]
    assert phrasings["text"] == ["first?", "1st?", "second?"]
    np.testing.assert_allclose(np.asarray(phrasings["embedding"], dtype=np.float32), index.vectors, atol=1e-7)
    assert faq_rows["id"] == ["a", "b"]
    assert faq_rows["alternates"] == [["1st?"], []]


def test_rebuilding_in_place_is_not_served_from_a_stale_cache(tmp_path: Path) -> None:
    folder = tmp_path / "idx"
    save_index(with_auto_threshold(build_index([FAQ("a", "first?"), FAQ("b", "second?")], _SeededEmbedder(1))), folder)
    assert len(load_index(folder).faqs) == 2

    rebuilt = with_auto_threshold(build_index([FAQ("a", "first?"), FAQ("b", "second?"), FAQ("c", "third?")],
                                              _SeededEmbedder(2)))
    save_index(rebuilt, folder)
    loaded = load_index(folder)

    assert [f.id for f in loaded.faqs] == ["a", "b", "c"]
    np.testing.assert_allclose(loaded.vectors, rebuilt.vectors, atol=1e-6)
