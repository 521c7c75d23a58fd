"""``faq-bot eval`` as a user runs it: labels that accept several FAQs, the
three outcomes (answered / card / abstained) in the JSON and in the summary,
and a bad label refused in one line."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from tests.conftest import CLIResult

SOURCE = """id,question,answer,alternates
password,How do I reset my password?,Use the reset link on the sign-in page.,I forgot my password
login-codes,How do I turn on two-step login codes?,Open Security and enable two-step codes.,
vpn,How do I connect to the VPN?,Install the VPN client and sign in.,the vpn will not connect
"""
QUERIES = [
    {"text": "I can't remember my password, how do I get back in?", "faq_id": ["vpn", "password"]},
    {"text": "my vpn keeps dropping", "faq_id": "vpn"},
    {"text": "what is the capital of France", "faq_id": None},
]


def test_eval_takes_lists_of_acceptable_faqs_and_reports_three_outcomes(
        tmp_path: Path, run_cli: Callable[..., CLIResult]) -> None:
    (tmp_path / "faqs.csv").write_text(SOURCE, encoding="utf-8")
    (tmp_path / "q.jsonl").write_text("".join(json.dumps(q) + "\n" for q in QUERIES), encoding="utf-8")
    result = run_cli(["eval", "--faqs", "faqs.csv", "--queries", "q.jsonl", "--json"])
    assert result.code == 0, result.err
    report = json.loads(result.out)
    rows = report["queries"]
    assert rows[0]["expected"] == ["vpn", "password"]
    # the best-ranked acceptable FAQ counts: the password FAQ is first for this question
    assert rows[0]["predicted"] == "password" and rows[0]["rank_of_expected"] == 1
    assert report["top1_accuracy"] == 1.0
    outcomes = [r["outcome"] for r in rows]
    assert set(outcomes) <= {"answered", "card", "abstained"}
    counts = report["outcomes"]
    assert sum(counts["in_scope"].values()) == 2 and sum(counts["out_of_scope"].values()) == 1
    assert counts["out_of_scope"][rows[2]["outcome"]] == 1
    assert report["oos_abstention"] == (1.0 if rows[2]["outcome"] == "abstained" else 0.0)

    summary = run_cli(["eval", "--faqs", "faqs.csv", "--queries", "q.jsonl"])
    assert summary.code == 0, summary.err
    assert "outcomes (answered / card / abstained): in scope " in summary.out


def test_an_empty_list_label_is_one_line_error(tmp_path: Path, run_cli: Callable[..., CLIResult]) -> None:
    (tmp_path / "faqs.csv").write_text(SOURCE, encoding="utf-8")
    (tmp_path / "q.jsonl").write_text('{"text": "hello", "faq_id": []}\n', encoding="utf-8")
    result = run_cli(["eval", "--faqs", "faqs.csv", "--queries", "q.jsonl"])
    assert result.code == 2
    assert result.err.strip().splitlines() == [
        "faq-bot: error: q.jsonl:1: faq_id must be a non-empty string, a non-empty list of them, "
        "or null for out of scope"]
