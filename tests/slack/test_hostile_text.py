"""Text clean-up on hostile input: linear time on markup built to make
regular expressions backtrack, and nothing left that an encoder rejects.

The inputs are 400,000 characters (ten times what Slack allows): the old
patterns needed minutes on each (quadratic), the new ones milliseconds. The
timeout below only stops a hang; speed is measured in ``bench/text.py``.
"""

from __future__ import annotations

import pytest

from bot.conversation.text import encodable
from bot.slack.text import question_from
from tests.stubs.hostile import backtracking_bait

ADVERSARIAL = backtracking_bait(400_000)


@pytest.mark.timeout(60)
@pytest.mark.parametrize("name", list(ADVERSARIAL))
def test_clean_up_of_backtracking_bait_finishes_and_keeps_the_words(name: str) -> None:
    text = "I lost my card " + ADVERSARIAL[name] + " what now?"
    question = question_from(text, "UBOT")
    assert question.startswith("I lost my card")
    assert question.endswith("what now?")


def test_markup_is_still_made_readable() -> None:
    text = ("<@UBOT> :wave: is <https://medicare.gov|the site> ok for <#C1|general> at 10:30:45 "
            "&amp; :+1: <!here> `code` :smile_cat:")
    assert question_from(text, "UBOT") == "is the site ok for #general at 10:30:45 & @here code"


def test_lone_surrogates_and_control_characters_are_dropped() -> None:
    question = question_from("\ud800 how do I\x00 sign\x1b up?\udfff", None)
    assert question == "how do I sign up?"
    question.encode("utf-8")  # encodes: the tokenizer and every database accept it
    assert encodable("tab\tand\nnewline") == "tab\tand\nnewline"
