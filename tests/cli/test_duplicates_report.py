"""``faq-bot index build`` and ``index info`` tell the owner about
near-duplicate FAQs and say how the automatic threshold was estimated."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from faq_core.threshold import GROUP_METHOD, method_words
from tests.conftest import CLIResult

SOURCE = """id,question,answer
reset,How do I reset my password?,Use the reset link on the sign-in page.
reset-again,How can I reset my password?,Click 'Forgot password' on the sign-in page.
vpn,How do I connect to the VPN?,Install the VPN client and sign in.
parking,Where can I park my car at the office?,In the garage under the building.
holidays,How many vacation days do I get per year?,25 days plus public holidays.
printer,How do I add the office printer to my laptop?,Open Settings > Printers and pick Floor 3.
lunch,Is there a canteen in the building?,On the ground floor from noon to two.
"""


def test_build_and_info_list_the_near_duplicates(tmp_path: Path, run_cli: Callable[..., CLIResult]) -> None:
    (tmp_path / "faqs.csv").write_text(SOURCE, encoding="utf-8")
    built = run_cli(["index", "build", "faqs.csv", "--out", "idx"])
    assert built.code == 0, built.err
    lines = built.out.splitlines()
    assert any(line.startswith("automatic threshold ") and line.endswith(f"({method_words(GROUP_METHOD)})")
               for line in lines), built.out
    twins = [line for line in lines if line.startswith("near-duplicates: ")]
    assert len(twins) == 1, built.out
    assert "these 2 FAQs answer almost the same question: merge them or add phrasings" in twins[0]
    assert "[reset] How do I reset my password?" in twins[0] and "[reset-again]" in twins[0]

    info = run_cli(["index", "info", "idx"])
    assert info.code == 0, info.err
    meta = json.loads(info.out)
    assert [group["faq_ids"] for group in meta["duplicates"]] == [["reset", "reset-again"]]
    assert meta["threshold"]["source"] == "automatic"
    assert meta["threshold"]["method"] == method_words(GROUP_METHOD)
