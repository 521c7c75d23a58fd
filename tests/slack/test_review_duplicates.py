"""The admins' FAQ review on the App Home lists near-duplicate FAQs."""

from __future__ import annotations

import numpy as np

from bot.slack.review_views import HOME_DUPLICATE_GROUPS, review_section
from faq_core.faqs import FAQ
from faq_core.index import FAQIndex, IndexMeta


def tiny_index(n: int) -> FAQIndex:
    faqs = [FAQ(id=f"faq-{j}", question=f"Question <{j}>?") for j in range(n)]
    vectors = np.eye(n, 4 if n <= 4 else n, dtype=np.float32)
    meta = IndexMeta(model_id="test/model", dim=vectors.shape[1], faq_count=n, phrasing_count=n)
    return FAQIndex(faqs, [f.question for f in faqs], vectors, np.arange(n), meta)


def text_of(blocks: list) -> str:  # type: ignore[type-arg]
    return "\n".join(str(b.to_dict()) for b in blocks)


def test_duplicate_groups_are_shown_escaped_and_bounded() -> None:
    index = tiny_index(20)
    groups = [(f"faq-{2 * g}", f"faq-{2 * g + 1}") for g in range(HOME_DUPLICATE_GROUPS + 2)]
    shown = text_of(review_section([], index, days=7, duplicates=groups))
    assert shown.count("These 2 FAQs answer almost the same question: merge them or add phrasings.") == \
        HOME_DUPLICATE_GROUPS
    assert "Question &lt;0&gt;?" in shown and "`faq-1`" in shown
    assert "and 2 more groups" in shown
    assert "Near-duplicate FAQs" not in text_of(review_section([], index, days=7))
