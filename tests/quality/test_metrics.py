"""Evaluation metrics and threshold calibration on hand-computed cases, and
the query-file reader's refusals (file, line, reason)."""

from __future__ import annotations

import itertools
import math
from pathlib import Path

import numpy as np
import pytest

from faq_core.errors import FAQBotError, FAQSourceError
from faq_core.evaluation import LabelledQuery, QueryResult, check_faq_ids, choose_threshold, load_queries, metrics


def result(expected: str | None, rank: int | None, answered: bool, confidence: float = 0.5) -> QueryResult:
    predicted = expected if rank == 1 else "other"
    return QueryResult(text="q", expected=expected, predicted=predicted, confidence=confidence,
                       answered=answered, rank_of_expected=rank)


def test_metrics_on_a_hand_computed_case() -> None:
    results = [
        result("a", 1, True),  # right and answered
        result("b", 2, True),  # answered, but the wrong FAQ first
        result("c", None, False),  # not in the shown ranks
        result("d", 1, False),  # right first, but not confident
        result(None, None, False),  # out of scope, kept quiet
        result(None, None, True),  # out of scope, answered anyway
    ]
    m = metrics(results)
    assert (m.in_scope, m.out_of_scope) == (4, 2)
    assert m.top1_accuracy == pytest.approx(2 / 4)
    assert m.hit_at_3 == pytest.approx(3 / 4)
    assert m.mrr == pytest.approx((1 + 1 / 2 + 0 + 1) / 4)
    assert m.oos_abstention == pytest.approx(1 / 2)
    assert m.answered_correct == pytest.approx(1 / 4)


def test_hit_at_3_counts_rank_three_but_not_four() -> None:
    m = metrics([result("a", 3, True), result("b", 4, True)])
    assert m.hit_at_3 == pytest.approx(0.5)
    assert m.mrr == pytest.approx((1 / 3 + 1 / 4) / 2)
    assert m.top1_accuracy == 0


def test_groups_without_rows_report_none() -> None:
    only_in = metrics([result("a", 1, True)])
    assert only_in.oos_abstention is None and only_in.top1_accuracy == 1
    only_out = metrics([result(None, None, False)])
    assert only_out.top1_accuracy is None and only_out.mrr is None and only_out.answered_correct is None
    assert only_out.oos_abstention == 1


OOS = [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95]
IN_SCOPE = [0.92, 0.97, 0.5, 0.85]


@pytest.mark.parametrize(
    ("target", "expected"),
    [
        (0.9, (0.9 + 0.92) / 2),  # 9 of 10 below: just above 0.9, halfway to the next confidence (0.92)
        (0.8, (0.8 + 0.85) / 2),  # 8 of 10 below: above 0.8, halfway to 0.85
        (1.0, (0.95 + 0.97) / 2),  # every out-of-scope row refused
        (0.85, (0.9 + 0.92) / 2),  # 8.5 rows: rounds up to 9
    ],
)
def test_threshold_is_the_lowest_meeting_the_target(target: float, expected: float) -> None:
    confidences = OOS + IN_SCOPE
    oos = [True] * len(OOS) + [False] * len(IN_SCOPE)
    threshold = choose_threshold(confidences, [not o for o in oos], oos, target)
    assert threshold == pytest.approx(expected)
    refused = sum(c < threshold for c, o in zip(confidences, oos, strict=True) if o)
    assert refused / len(OOS) >= target


def test_threshold_with_no_target_answers_everything() -> None:
    threshold = choose_threshold([0.3, 0.6, 0.2], [True, False, False], [False, False, True], 0.0)
    assert threshold == pytest.approx(0.2)


def test_threshold_when_the_top_confidence_is_out_of_scope() -> None:
    threshold = choose_threshold([0.4, 0.9], [True, False], [False, True], 1.0)
    assert threshold > 0.9 and threshold == pytest.approx(0.9)


def test_calibration_needs_out_of_scope_rows_and_a_sane_target() -> None:
    with pytest.raises(FAQBotError, match="no out-of-scope rows"):
        choose_threshold([0.5, 0.6], [True, True], [False, False], 0.9)
    with pytest.raises(FAQBotError, match="between 0 and 1"):
        choose_threshold([0.5], [False], [True], 1.5)


@pytest.mark.parametrize("seed", range(6))
def test_threshold_maximises_answered_correct_under_the_constraint(seed: int) -> None:
    """Against brute force over every candidate threshold (each distinct
    confidence and just above the highest)."""
    rng = np.random.default_rng(seed)
    n = 40
    confidences = np.round(rng.uniform(0, 1, n), 2).tolist()  # rounding makes ties
    oos = (rng.uniform(size=n) < 0.3).tolist()
    oos[0] = True
    correct = [not o and bool(rng.uniform() < 0.7) for o in oos]
    target = float(rng.choice([0.5, 0.75, 0.9, 1.0]))
    chosen = choose_threshold(confidences, correct, oos, target)

    def outcome(t: float) -> tuple[float, float]:
        abst = sum(c < t for c, o in zip(confidences, oos, strict=True) if o) / sum(oos)
        good = sum(c >= t and ok for c, ok in zip(confidences, correct, strict=True))
        return abst, good

    candidates = [*sorted(set(confidences)), math.nextafter(max(confidences), 2)]
    best = max(outcome(t)[1] for t in candidates if outcome(t)[0] >= target)
    abstention, good = outcome(chosen)
    assert abstention >= target
    assert good == best


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def test_query_file_is_read_with_blank_lines_and_nulls(tmp_path: Path) -> None:
    path = write(tmp_path / "q.jsonl", '{"text": " How do  I reset? ", "faq_id": "reset"}\n\n'
                                        '{"text": "pizza?", "faq_id": null}\n')
    assert load_queries(path) == [LabelledQuery("How do I reset?", "reset"), LabelledQuery("pizza?", None)]


@pytest.mark.parametrize(
    ("content", "line", "reason"),
    [
        ('{"text": "a", "faq_id": "x"}\n{"text": "b", "faq_id": \n', 2, "invalid JSON"),
        ('["a", "x"]\n', 1, "JSON object"),
        ('{"text": "a"}\n', 1, "missing faq_id"),
        ('{"faq_id": "x"}\n', 1, "text must be a non-empty string"),
        ('{"text": "  ", "faq_id": "x"}\n', 1, "text must be a non-empty string"),
        ('{"text": "a", "faq_id": 3}\n', 1, "faq_id must be a non-empty string"),
        ('\n{"text": "a", "faq_id": "x", "label": 1}\n', 2, "unknown field(s) label"),
    ],
)
def test_bad_query_lines_name_file_and_line(tmp_path: Path, content: str, line: int, reason: str) -> None:
    path = write(tmp_path / "bad.jsonl", content)
    with pytest.raises(FAQSourceError) as caught:
        load_queries(path)
    assert caught.value.line == line
    assert reason in caught.value.reason
    assert str(caught.value).startswith(f"{path}:{line}: ")


def test_empty_missing_and_undecodable_query_files(tmp_path: Path) -> None:
    with pytest.raises(FAQSourceError, match="no questions"):
        load_queries(write(tmp_path / "empty.jsonl", "\n \n"))
    with pytest.raises(FAQSourceError, match="file not found"):
        load_queries(tmp_path / "absent.jsonl")
    bad = tmp_path / "latin1.jsonl"
    bad.write_bytes(b'{"text": "a", "faq_id": null}\n{"text": "caf\xe9", "faq_id": null}\n')
    with pytest.raises(FAQSourceError) as caught:
        load_queries(bad)
    assert caught.value.line == 2


def test_unknown_faq_ids_are_refused_with_their_line(tmp_path: Path) -> None:
    path = write(tmp_path / "q.jsonl", '{"text": "a", "faq_id": "x"}\n\n{"text": "b", "faq_id": "nope"}\n')
    queries = load_queries(path)
    check_faq_ids(path, queries[:1], {"x"})
    with pytest.raises(FAQSourceError) as caught:
        check_faq_ids(path, queries, {"x"})
    assert caught.value.line == 3 and "'nope'" in caught.value.reason


def test_mrr_is_a_mean_over_rows() -> None:
    """MRR of a set is the size-weighted mean of its parts' MRR: each row counts once."""
    rows = [result(e, r, a) for e, r, a in itertools.product(["a"], [1, 2, None], [True, False])]
    whole = metrics(rows)
    halves = metrics(rows[:3]), metrics(rows[3:])
    assert whole.mrr == pytest.approx(((halves[0].mrr or 0) * 3 + (halves[1].mrr or 0) * 3) / 6)
