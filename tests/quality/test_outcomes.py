"""The one outcome convention (answered / card / abstained) shared by
``faq-bot eval`` and the benchmarks, and query labels that accept several FAQs."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench.abstention import figures
from faq_core.errors import FAQSourceError
from faq_core.evaluation import LabelledQuery, QueryResult, check_faq_ids, load_queries, metrics, outcome_of


def result(expected: str | None, rank: int | None, answered: bool, card: bool = False) -> QueryResult:
    return QueryResult(text="q", expected=expected, predicted=expected if rank == 1 else "other",
                       confidence=0.5, answered=answered, rank_of_expected=rank, ambiguous=card)


def test_three_outcomes() -> None:
    assert [outcome_of(True, False), outcome_of(False, True), outcome_of(False, False)] == \
        ["answered", "card", "abstained"]


def test_a_card_is_neither_an_answer_nor_an_abstention() -> None:
    results = [
        result("a", 1, True),  # answered, right
        result("b", 2, False, card=True),  # card holding the right FAQ second
        result("c", 3, False, card=True),  # card without the right FAQ
        result("d", 1, False),  # right first, abstained
        result(None, None, False, card=True),  # out of scope, shown a card
        result(None, None, False),  # out of scope, abstained
        result(None, None, True),  # out of scope, answered
    ]
    m = metrics(results)
    assert m.oos_abstention == pytest.approx(1 / 3)
    assert m.oos_card == pytest.approx(1 / 3)
    assert m.answered_correct == pytest.approx(1 / 4)
    assert m.card_correct == pytest.approx(1 / 4)
    assert m.outcomes == {"in_scope": {"answered": 1, "card": 2, "abstained": 1},
                          "out_of_scope": {"answered": 1, "card": 1, "abstained": 1}}
    # the benchmark tables count the same rows the same way
    f = figures(results)
    assert f["abstention"] == m.oos_abstention
    assert f["answered_correct"] == m.answered_correct
    assert f["helped_with_card"] == pytest.approx(2 / 4)
    assert f["refused_right_first"] == pytest.approx(1 / 2)


def test_faq_id_may_be_a_list_of_acceptable_faqs(tmp_path: Path) -> None:
    path = tmp_path / "q.jsonl"
    path.write_text('{"text": "a", "faq_id": ["x", "y", "x"]}\n{"text": "b", "faq_id": "z"}\n'
                    '{"text": "c", "faq_id": null}\n', encoding="utf-8")
    rows = load_queries(path)
    assert rows == [LabelledQuery("a", "x", ("y",)), LabelledQuery("b", "z"), LabelledQuery("c", None)]
    assert [r.acceptable for r in rows] == [("x", "y"), ("z",), ()]
    assert [r.label for r in rows] == [["x", "y"], "z", None]
    check_faq_ids(path, rows, {"x", "y", "z"})
    with pytest.raises(FAQSourceError, match=r"q.jsonl:1: faq_id 'y' is not an FAQ of the index"):
        check_faq_ids(path, rows, {"x", "z"})


@pytest.mark.parametrize("label", ["[]", '[""]', '["x", 3]', "3", '{"id": "x"}'])
def test_bad_labels_are_refused_with_the_line(tmp_path: Path, label: str) -> None:
    path = tmp_path / "q.jsonl"
    path.write_text('{"text": "fine", "faq_id": "x"}\n{"text": "a", "faq_id": ' + label + "}\n", encoding="utf-8")
    with pytest.raises(FAQSourceError, match=r"q.jsonl:2: faq_id must be a non-empty string, a non-empty list"):
        load_queries(path)
