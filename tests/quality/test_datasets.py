"""The benchmark builders on a tiny stand-in of the shared data: seeded,
K phrasings are prefixes of the larger K, and the held-out questions used for
tuning and calibration never repeat a phrasing."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from bench.abstention import figures
from bench.datasets import (
    HELD_OUT,
    KS,
    MAX_K,
    Benchmark,
    MissingDataError,
    banking77,
    clinc150,
    unseen_faqs,
    write_files,
)
from faq_core.evaluation import LabelledQuery, QueryResult, load_queries
from faq_core.faqs import load_faqs

PER_INTENT = MAX_K + HELD_OUT + 3


@pytest.fixture()
def data_root(tmp_path: Path) -> Path:
    root = tmp_path / "data"
    (root / "banking77").mkdir(parents=True)
    (root / "clinc150").mkdir()
    with (root / "banking77" / "train.csv").open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["text", "category"])
        for intent in ("card_arrival", "lost_card", "top_up"):
            for i in range(PER_INTENT):
                writer.writerow([f"{intent} question   number {i}", intent])
    with (root / "banking77" / "test.csv").open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["text", "category"])
        writer.writerow(["where is my card", "card_arrival"])
    dev = {
        "train": [[f"{intent} {i}", intent] for intent in ("timer", "weather") for i in range(PER_INTENT)],
        "val": [["set a timer", "timer"]],
        "oos_train": [["sing a song", "oos"]],
        "oos_val": [["tell me a poem", "oos"]],
    }
    (root / "clinc150" / "dev.json").write_text(json.dumps(dev), encoding="utf-8")
    return root


def test_phrasings_are_seeded_prefixes_and_held_out_rows_are_disjoint(data_root: Path) -> None:
    bench = banking77(data_root, seed=3)
    assert bench.phrasings == banking77(data_root, seed=3).phrasings
    assert bench.phrasings != banking77(data_root, seed=4).phrasings
    assert all(len(texts) == MAX_K for texts in bench.phrasings.values())
    phrasings = {t for texts in bench.phrasings.values() for t in texts}
    dev = bench.queries["dev"]
    assert len(dev) == 3 * HELD_OUT
    assert not phrasings & {q.text for q in dev}
    assert all(q.text.startswith(q.faq_id or "") for q in dev)
    assert "  " not in next(iter(phrasings))  # white space collapsed as the engine does
    rows = {k: bench.faq_rows(k) for k in KS}
    for k in KS:
        for row, full in zip(rows[k], rows[MAX_K], strict=True):
            texts = [row["question"], *row["alternates"]]  # type: ignore[list-item]
            assert len(texts) == k
            assert texts == [full["question"], *full["alternates"]][:k]  # type: ignore[list-item]


def test_clinc_files_are_valid_sources_and_query_files(data_root: Path, tmp_path: Path) -> None:
    bench = clinc150(data_root, seed=0)
    paths = write_files(bench, tmp_path / "out")
    faqs = load_faqs(paths["k5"])
    assert [f.id for f in faqs] == ["timer", "weather"] and all(len(f.phrasings) == 5 for f in faqs)
    val = load_queries(paths["val"])
    assert [(q.text, q.faq_id) for q in val] == [("set a timer", "timer"), ("tell me a poem", None)]
    cal = load_queries(paths["cal"])
    assert sum(q.faq_id is None for q in cal) == 1 and len(cal) == 2 * HELD_OUT + 1
    assert not {q.text for q in cal} & {p for f in load_faqs(paths["k10"]) for p in f.phrasings}


def test_missing_data_says_where_it_comes_from(data_root: Path) -> None:
    (data_root / "clinc150" / "dev.json").unlink()
    with pytest.raises(MissingDataError) as caught:
        clinc150(data_root)
    message = str(caught.value)
    assert "missing clinc150/dev.json" in message and "banking77/" not in message.split("(")[1].split(")")[0]
    assert "github.com/clinc/oos-eval" in message and "FAQ_EVAL_DATA" in message
    assert banking77(data_root).name == "banking77"  # what is there still loads


def test_make_eval_on_a_fresh_clone_is_one_line(tmp_path: Path) -> None:
    env = {**os.environ, "FAQ_EVAL_DATA": str(tmp_path / "nowhere")}
    result = subprocess.run([sys.executable, "-m", "bench.eval"], capture_output=True, text=True, env=env,
                            timeout=120, cwd=Path(__file__).resolve().parents[2])
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    (line,) = result.stderr.strip().splitlines()
    assert line.startswith("bench: error: the benchmark data is not in ")
    assert "missing banking77/train.csv, banking77/test.csv, clinc150/dev.json" in line


def test_unseen_faqs_hold_out_a_seeded_fifth_of_the_intents_as_out_of_scope(data_root: Path) -> None:
    bench = clinc150(data_root, seed=0)
    wide = Benchmark("wide", {f"intent{i}": [f"text {i}"] for i in range(10)},
                     {"q": [LabelledQuery(f"ask {i}", f"intent{i}") for i in range(10)]
                      + [LabelledQuery("poem", None)]})
    unseen = unseen_faqs(wide, seed=1)
    held = set(wide.phrasings) - set(unseen.phrasings)
    assert len(held) == 2 and unseen.name == "wide-unseen"
    assert unseen_faqs(wide, seed=1).phrasings == unseen.phrasings  # seeded
    assert any(unseen_faqs(wide, seed=s).phrasings != unseen.phrasings for s in range(2, 6))
    for before, after in zip(wide.queries["q"], unseen.queries["q"], strict=True):
        assert after.text == before.text
        assert after.faq_id == (None if before.faq_id in held else before.faq_id)  # real OOS rows stay OOS
    # on the real builder: every query set is relabelled consistently
    small = unseen_faqs(bench, seed=0)
    assert set(small.phrasings) <= set(bench.phrasings)
    assert all(q.faq_id is None or q.faq_id in small.phrasings for qs in small.queries.values() for q in qs)


def test_abstention_figures_count_cards_and_wrong_answers() -> None:
    def result(expected: str | None, rank: int | None, answered: bool, ambiguous: bool = False) -> QueryResult:
        return QueryResult(text="q", expected=expected, predicted="x", confidence=0.5, answered=answered,
                           rank_of_expected=rank, ambiguous=ambiguous)

    results = [result("a", 1, True), result("a", 2, True), result("a", 2, False, ambiguous=True),
               result("a", 1, False), result(None, None, True), result(None, None, False),
               result(None, None, False, ambiguous=True)]
    f = figures(results)
    assert f["top1"] == 2 / 4 and f["answered_correct"] == 1 / 4
    assert f["abstention"] == 1 / 3 and f["abstention_alone"] == 2 / 3  # a card is not an abstention
    assert f["wrong_answered"] == 2 / 3  # rank 2 answered, out-of-scope answered
    assert f["card_share"] == 2 / 7
    assert f["wrong_with_card"] == 3 / 5  # + the out-of-scope card; the in-scope card holds the right FAQ
    assert f["helped_with_card"] == 2 / 4
