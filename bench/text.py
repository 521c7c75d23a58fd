"""Text clean-up on hostile input (``bot.slack.text.question_from``).

Slack allows 40,000 characters a message; the old emoji pattern took 11 s on
such a mention, during which no event was acknowledged. Printed: the time for
each kind of backtracking bait against ordinary text of the same length,
measured in the same run (target: within a few times the ordinary text, i.e.
linear, not thousands of times).
"""

from __future__ import annotations

import time

from bot.slack.text import question_from
from tests.stubs.hostile import backtracking_bait

LENGTH = 40_000
ROUNDS = 5
BAIT = backtracking_bait(LENGTH) | {"lone surrogates": "\ud800a" * (LENGTH // 2)}
ORDINARY = ("How do I get a replacement Medicare card? <@U123> said :wave: see <https://medicare.gov|the site> "
            * (LENGTH // 100 + 1))[:LENGTH]


def _best(text: str) -> float:
    best = float("inf")
    for _ in range(ROUNDS):
        start = time.perf_counter()
        question_from(text, "UBOT")
        best = min(best, time.perf_counter() - start)
    return best


def run() -> None:
    """Print the clean-up time of each bait against ordinary text of the same length."""
    print(f"\n## bench.text: clean-up of a {LENGTH:,}-character message (best of {ROUNDS})")
    baseline = _best(ORDINARY)
    print("| input | ms | x ordinary text |")
    print("|---|---|---|")
    print(f"| ordinary text (baseline) | {baseline * 1000:.2f} | 1.0x |")
    for name, text in BAIT.items():
        took = _best(text)
        print(f"| {name} | {took * 1000:.2f} | {took / baseline:.1f}x |")
