"""Near-duplicate FAQs: found by construction on synthetic vectors, their
shares added up in the confidence, left out together by the automatic
threshold, and the grouped scorer made the default only for new indexes."""

from __future__ import annotations

import numpy as np
import pytest

from faq_core.confidence import TEMPERATURE, shares
from faq_core.duplicates import DUPLICATE_COSINE, describe_groups, find_duplicates, group_share
from faq_core.faqs import FAQ
from faq_core.index import FAQIndex, IndexMeta
from faq_core.scoring import (
    GROUPED_VERSION,
    SCORING_VERSION,
    SINGLE_TEMPERATURE,
    BlendScorer,
    GroupedBlendScorer,
    NearestPhrasing,
    make_scorer,
)
from faq_core.threshold import AUTO_METHOD, GROUP_METHOD, estimate_threshold, left_out_confidences, sample_rows

DIM = 64


def unit(matrix: np.ndarray) -> np.ndarray:
    return (matrix / np.linalg.norm(matrix, axis=-1, keepdims=True)).astype(np.float32)


def index_with_twins(rng: np.random.Generator, n: int = 12, twins: tuple[tuple[int, int], ...] = ((0, 1), (2, 3)),
                     triple: tuple[int, int, int] | None = (4, 5, 6), **meta: object) -> FAQIndex:
    """``n`` one-phrasing FAQs in random directions; each twin pair (and the
    triple) are tiny perturbations of one direction."""
    vectors = rng.standard_normal((n, DIM))
    for group in (*twins, *((triple,) if triple else ())):
        for member in group[1:]:
            vectors[member] = vectors[group[0]] + 0.15 * rng.standard_normal(DIM)
    faqs = [FAQ(id=f"faq-{j}", question=f"question {j}?") for j in range(n)]
    info = IndexMeta(model_id="test/model", dim=DIM, faq_count=n, phrasing_count=n, **meta)  # type: ignore[arg-type]
    return FAQIndex(faqs, [f.question for f in faqs], unit(vectors), np.arange(n), info)


def test_twins_and_a_triple_are_found_and_nothing_else() -> None:
    index = index_with_twins(np.random.default_rng(0))
    found = find_duplicates(index)
    assert found.groups == ((4, 5, 6), (0, 1), (2, 3))
    assert found.twin_count == 7
    assert list(found.members(5)) == [4, 5, 6] and list(found.members(9)) == [9]
    lines = describe_groups(found, [f.id for f in index.faqs], [f.question for f in index.faqs], limit=1)
    assert lines == ["these 3 FAQs answer almost the same question: merge them or add phrasings that tell them "
                     "apart: [faq-4] question 4?; [faq-5] question 5?; [faq-6] question 6?"]
    # a stricter cosine than the twins' leaves every FAQ alone
    assert find_duplicates(index, 0.9999).groups == ()


def test_the_group_share_adds_up_the_twins_shares() -> None:
    scores = np.array([0.50, 0.49, 0.10, 0.05, -np.inf])
    group_of = np.array([0, 0, 1, 2, 3])
    single = shares(scores, np.array([0, 1, 2, 3]), TEMPERATURE)
    assert group_share(scores, group_of, 0, TEMPERATURE) == pytest.approx(single[0] + single[1])
    assert group_share(scores, np.arange(5), 0, TEMPERATURE) == pytest.approx(single[0])


def test_grouped_confidence_is_higher_on_a_twin_and_equal_elsewhere() -> None:
    rng = np.random.default_rng(1)
    index = index_with_twins(rng)
    plain, grouped = BlendScorer(index), GroupedBlendScorer(index, temperature=TEMPERATURE)
    for faq, raised in ((0, True), (9, False)):
        query = unit(index.vectors[faq] + 0.05 * rng.standard_normal(DIM))
        ranks = plain.rank_scores(query[None])[0]
        assert np.array_equal(ranks, grouped.rank_scores(query[None])[0])  # ranking is unchanged
        top = np.argsort(-ranks)[:2]
        before, after = plain.confidence(query, ranks, int(top[0])), grouped.confidence(query, ranks, int(top[0]))
        assert (after > before + 0.05) if raised else after == pytest.approx(before)


def test_the_automatic_threshold_leaves_a_whole_group_out() -> None:
    index = index_with_twins(np.random.default_rng(2))
    grouped, plain = GroupedBlendScorer(index, temperature=TEMPERATURE), BlendScorer(index)
    rows = sample_rows(index)
    twins_by_faq = left_out_confidences(index, plain, rows)
    twins_by_group = left_out_confidences(index, grouped, rows)
    # with one twin left out the other answers confidently; with the group left out nothing close remains
    in_groups = np.isin(np.arange(12), [0, 1, 2, 3, 4, 5, 6])
    assert np.all(twins_by_group[in_groups] < twins_by_faq[in_groups])
    grouped_estimate, plain_estimate = estimate_threshold(index, grouped), estimate_threshold(index, plain)
    assert grouped_estimate is not None and plain_estimate is not None
    assert (grouped_estimate.method, grouped_estimate.scoring) == (GROUP_METHOD, GROUPED_VERSION)
    assert (plain_estimate.method, plain_estimate.scoring) == (AUTO_METHOD, SCORING_VERSION)
    assert grouped_estimate.threshold < plain_estimate.threshold


def test_new_indexes_get_the_grouped_scorer_old_ones_keep_theirs() -> None:
    rng = np.random.default_rng(3)
    assert isinstance(make_scorer(index_with_twins(rng)), GroupedBlendScorer)
    old = index_with_twins(rng, auto_threshold={"threshold": 0.3, "scoring": SCORING_VERSION})
    assert type(make_scorer(old)) is BlendScorer
    calibrated_v2 = index_with_twins(rng, min_score=0.4, calibration={"scoring": SCORING_VERSION})
    assert make_scorer(calibrated_v2).version == SCORING_VERSION
    assert isinstance(make_scorer(old, "nearest"), NearestPhrasing)


def test_a_small_or_twinless_index_has_no_groups() -> None:
    rng = np.random.default_rng(4)
    assert find_duplicates(index_with_twins(rng, n=2, twins=(), triple=None)).groups == ()
    assert find_duplicates(index_with_twins(rng, n=10, twins=(), triple=None)).groups == ()
    assert DUPLICATE_COSINE < 1


def test_one_phrasing_per_faq_sharpens_the_softmax() -> None:
    rng = np.random.default_rng(5)
    single = index_with_twins(rng)
    assert GroupedBlendScorer(single).temperature == SINGLE_TEMPERATURE
    several = FAQIndex(single.faqs[:6], [f"p{i}" for i in range(12)], np.repeat(single.vectors[:6], 2, axis=0),
                       np.repeat(np.arange(6), 2), single.meta)
    assert GroupedBlendScorer(several).temperature == TEMPERATURE == BlendScorer(several).temperature


def test_the_groups_are_stored_with_the_index_and_read_on_load_not_searched_again(
        tmp_path: object, monkeypatch: pytest.MonkeyPatch) -> None:
    from pathlib import Path

    import faq_core.duplicates as duplicates
    from faq_core.index import load_index, save_index

    index = index_with_twins(np.random.default_rng(0))
    save_index(index, Path(str(tmp_path)) / "idx")
    loaded = load_index(Path(str(tmp_path)) / "idx")
    assert loaded.derived.not_used is None  # the folder's state was used
    monkeypatch.setattr(duplicates, "_search", lambda *args: pytest.fail("searched again on load"))
    found = find_duplicates(loaded)
    assert found.groups == ((4, 5, 6), (0, 1), (2, 3)) and found.searched
    assert list(found.members(5)) == [4, 5, 6]
    # another threshold is not what the index stores: it is searched
    with pytest.raises(pytest.fail.Exception, match="searched again"):
        find_duplicates(loaded, 0.9999)
