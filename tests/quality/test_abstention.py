"""Knowing when not to answer, with the real model on a small office FAQ:
the automatic threshold (estimated at build from the index alone, stored,
used, and outranked by a labelled calibration and FAQ_MIN_SCORE), refusing
off-topic questions and questions whose FAQ does not exist, the ambiguity
outcome for near-tied FAQs, and the "Did you mean" floor."""

from __future__ import annotations

import logging
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from faq_core.answer import Answer, Match, Outcome
from faq_core.embedders import LocalEmbedder
from faq_core.engine import FAQEngine
from faq_core.faqs import FAQ
from faq_core.index import FAQIndex, build_index, load_index, save_index, write_meta
from faq_core.scoring import GROUPED_VERSION, NEAREST_VERSION, BlendScorer, make_scorer
from faq_core.threshold import (
    AUTO_QUANTILE,
    AUTOMATIC,
    FROM_CALIBRATION,
    FROM_SETTING,
    GROUP_METHOD,
    estimate_threshold,
    left_out_confidences,
    sample_rows,
    with_auto_threshold,
)

OFFICE = [
    FAQ(id="vpn", question="How do I connect to the VPN?",
        alternates=("VPN not working", "remote access from home", "connect to the company network remotely")),
    FAQ(id="password", question="How do I reset my password?",
        alternates=("forgot my password", "locked out of my account", "my login password expired")),
    FAQ(id="printer", question="How do I add a printer?",
        alternates=("printer not working", "print from my laptop", "set up the office printer")),
    FAQ(id="leave", question="How do I request vacation days?",
        alternates=("book annual leave", "time off request", "how many holidays do I have left")),
    FAQ(id="payslip", question="Where can I find my payslip?",
        alternates=("download my salary statement", "see my pay slip online", "when is payday")),
    FAQ(id="laptop", question="How do I order a new laptop?",
        alternates=("replace my broken laptop", "request a new computer", "laptop upgrade")),
    FAQ(id="guest-wifi", question="What is the guest wifi password?",
        alternates=("visitor wifi", "connect guests to the wireless network", "wifi for visitors")),
    FAQ(id="parking", question="Where can I park at the office?",
        alternates=("parking spaces at the office", "car park permit", "is there bike parking")),
]
IN_SCOPE = {
    "my VPN connection keeps dropping when I work from home": "vpn",
    "I can't remember my password": "password",
    "the office printer doesn't print anything": "printer",
    "I want to take two weeks off in August": "leave",
    "where do I download last month's payslip?": "payslip",
}
OFF_TOPIC = ["What's the capital of France?", "Recommend a good pizza recipe",
             "Who won the football match yesterday?", "How tall is Mount Everest?"]


@pytest.fixture(scope="module")
def office(local_embedder: LocalEmbedder) -> FAQIndex:
    return with_auto_threshold(build_index(OFFICE, local_embedder, source_name="office"))


def test_index_build_stores_the_automatic_threshold_and_the_engine_uses_it(
    office: FAQIndex, local_embedder: LocalEmbedder, tmp_path: Path
) -> None:
    auto = office.meta.auto_threshold
    assert auto["method"] == GROUP_METHOD and auto["scoring"] == GROUPED_VERSION
    assert auto["quantile"] == AUTO_QUANTILE and auto["samples"] == len(office.texts)
    assert 0 < auto["threshold"] < 1
    engine = FAQEngine(load_index(save_index(office, tmp_path / "office")), local_embedder)
    assert (engine.threshold, engine.threshold_source) == (pytest.approx(auto["threshold"]), AUTOMATIC)
    assert engine.info.threshold_source == AUTOMATIC
    # the quantile means what it says: that share of left-out-FAQ confidences falls below the threshold
    left_out = left_out_confidences(office, make_scorer(office), sample_rows(office))
    assert abs(float(np.mean(left_out < auto["threshold"])) - AUTO_QUANTILE) <= 1 / len(left_out)


def test_covered_questions_are_answered_and_off_topic_ones_refused(
    office: FAQIndex, local_embedder: LocalEmbedder
) -> None:
    engine = FAQEngine(office, local_embedder)
    for answer, expected in zip(engine.answer_many(list(IN_SCOPE)), IN_SCOPE.values(), strict=True):
        assert answer.answered and answer.matches[0].faq_id == expected, answer
    for answer in engine.answer_many(OFF_TOPIC):
        assert answer.outcome is Outcome.NO_MATCH, answer
        assert answer.suggestions() == ()  # nothing close enough to offer either


def test_a_question_whose_faq_does_not_exist_is_refused(office: FAQIndex, local_embedder: LocalEmbedder) -> None:
    question = "Where do I leave my car when I come to the office?"
    with_parking = FAQEngine(office, local_embedder).answer(question)
    assert with_parking.answered and with_parking.matches[0].faq_id == "parking"
    without = with_auto_threshold(build_index([f for f in OFFICE if f.id != "parking"], local_embedder))
    assert not FAQEngine(without, local_embedder).answer(question).answered


def test_threshold_precedence_setting_then_calibration_then_automatic(
    office: FAQIndex, local_embedder: LocalEmbedder, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    folder = save_index(office, tmp_path / "office")
    auto = office.meta.auto_threshold["threshold"]
    assert FAQEngine(load_index(folder), local_embedder, min_score=0.9).threshold_source == FROM_SETTING
    write_meta(folder, replace(office.meta, min_score=0.61, calibration={"scoring": GROUPED_VERSION}))
    calibrated = FAQEngine(load_index(folder), local_embedder)
    assert (calibrated.threshold, calibrated.threshold_source) == (0.61, FROM_CALIBRATION)
    assert FAQEngine(load_index(folder), local_embedder, min_score=0.9).threshold == 0.9
    # a calibration made for another confidence function is not reused: the automatic one is, with a warning
    write_meta(folder, replace(office.meta, min_score=0.61, calibration={"scoring": NEAREST_VERSION}))
    with caplog.at_level(logging.WARNING, logger="faq_core.threshold"):
        fallback = FAQEngine(load_index(folder), local_embedder)
    assert (fallback.threshold, fallback.threshold_source) == (pytest.approx(auto), AUTOMATIC)
    assert "calibrated for nearest-v1" in caplog.text
    # an index built before automatic thresholds (or for another confidence) gets one estimated at start
    write_meta(folder, replace(office.meta, auto_threshold={}))
    assert FAQEngine(load_index(folder), local_embedder).threshold == pytest.approx(auto, abs=1e-6)
    nearest = FAQEngine(load_index(folder), local_embedder, scoring="nearest")
    assert nearest.threshold_source == AUTOMATIC and nearest.threshold != pytest.approx(auto)


def test_the_sample_is_bounded_evenly_spaced_and_deterministic(office: FAQIndex) -> None:
    rows = sample_rows(office, 5)
    assert list(rows) == [0, 8, 16, 23, 31]
    assert len(sample_rows(office, 1000)) == len(office.texts)
    scorer = BlendScorer(office)
    first = estimate_threshold(office, scorer, max_samples=10)
    second = estimate_threshold(office, scorer, max_samples=10)
    assert first is not None and second is not None
    assert first.samples == 10 and first.threshold == second.threshold


def test_a_single_faq_index_has_no_left_out_estimate(local_embedder: LocalEmbedder) -> None:
    single = with_auto_threshold(build_index(OFFICE[:1], local_embedder))
    assert single.meta.auto_threshold == {}
    assert estimate_threshold(single, BlendScorer(single)) is None


def test_near_tied_faqs_make_an_ambiguous_answer(local_embedder: LocalEmbedder) -> None:
    twins = [*OFFICE[2:], FAQ(id="reset", question="How do I reset my password?", alternates=("forgot my password",)),
             FAQ(id="change", question="How do I change my password?", alternates=("update my password",))]
    index = with_auto_threshold(build_index(twins, local_embedder))
    # blend-v2 shares: the grouped scorer may count these two as one (tests/quality/test_duplicates.py)
    scorer = BlendScorer(index)
    question = "problem with my password"
    probe = FAQEngine(index, local_embedder, scoring=scorer, min_score=0.0).answer(question, k=2)
    first, second = (m.score for m in probe.matches)
    assert {m.faq_id for m in probe.matches} == {"reset", "change"} and second >= 0.5 * first
    between = FAQEngine(index, local_embedder, scoring=scorer,
                        min_score=(first + (first + second)) / 2).answer(question, k=1)
    assert between.outcome is Outcome.AMBIGUOUS and between.ambiguous and not between.answered
    assert [m.faq_id for m in between.contenders] == [m.faq_id for m in probe.matches]  # both, even with k = 1
    answered = FAQEngine(index, local_embedder, scoring=scorer, min_score=first).answer(question)
    assert answered.outcome is Outcome.ANSWERED
    beyond = FAQEngine(index, local_embedder, scoring=scorer, min_score=first + second + 0.01).answer(question)
    assert beyond.outcome is Outcome.NO_MATCH and beyond.contenders == ()


def test_did_you_mean_offers_only_matches_above_the_floor() -> None:
    def match(faq_id: str, score: float) -> Match:
        return Match(faq_id=faq_id, question=faq_id, answer=None, url=None, score=score, matched_text=faq_id)

    answer = Answer(query="q", matches=(match("a", 0.30), match("b", 0.20), match("c", 0.06)),
                    outcome=Outcome.NO_MATCH, confidence=0.30, threshold=0.40)
    assert [m.faq_id for m in answer.suggestions()] == ["a", "b"]  # 0.06 < 0.5 x 0.40
    assert answer.matches[2].percent == "6%"
