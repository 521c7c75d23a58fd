"""Which phrasings an FAQ read again from its sources keeps from the served
revision and the review loop: pages and exports keep them, CSV/JSONL/xlsx are
taken as they are, and an FAQ gone from the sources drops them with a note."""

from __future__ import annotations

import numpy as np

from faq_core.faqs import FAQ
from faq_core.index import FAQIndex, IndexMeta
from faq_core.kept_phrasings import keep_phrasings

PAGE, CSV = "faq.html", "extra.csv"


def served(*faqs: FAQ) -> FAQIndex:
    """An index of ``faqs`` (the vectors do not matter here)."""
    owner = [position for position, faq in enumerate(faqs) for _ in faq.phrasings]
    texts = [text for faq in faqs for text in faq.phrasings]
    return FAQIndex(list(faqs), texts, np.eye(len(texts), 4, dtype=np.float32), np.asarray(owner),
                    IndexMeta(model_id="m", dim=4))


def test_a_pages_faq_keeps_the_served_alternates_and_the_accepted_phrasings() -> None:
    before = served(FAQ("billing", "How do I pay?", alternates=("can I pay by invoice",), source=PAGE))
    now = [FAQ("billing", "How do I pay?", answer="By card.", source=PAGE)]
    kept = keep_phrasings(now, frozenset({CSV}), before,
                          {"billing": ["Can I pay by invoice?", "HOW DO I PAY", "do you take  bank transfers"]})
    [billing] = kept.faqs
    # compared as people read them: case, spacing and end punctuation aside
    assert billing.alternates == ("can I pay by invoice", "do you take bank transfers")
    assert billing.answer == "By card." and kept.kept == {"billing": 2} and kept.notes == []
    assert kept.summary() == "kept 2 phrasings from the review loop on 1 FAQ the sources do not list them for"


def test_a_tabular_source_is_taken_as_it_is() -> None:
    before = served(FAQ("vpn", "VPN?", alternates=("VPN not working",), source=CSV))
    now = [FAQ("vpn", "VPN?", source=CSV)]
    kept = keep_phrasings(now, frozenset({CSV}), before, {"vpn": ["remote access"]})
    assert kept.faqs == now and kept.summary() is None and kept.notes == []


def test_an_faq_gone_from_the_sources_drops_its_phrasings_with_a_note() -> None:
    before = served(FAQ("export", "Can I export?", alternates=("download my notes",), source=PAGE),
                    FAQ("old-row", "Old?", alternates=("x",), source=CSV),
                    FAQ("plain", "Plain?", source=PAGE))
    kept = keep_phrasings([FAQ("offline", "Offline?", source=PAGE)], frozenset({CSV}), before,
                          {"export": ["get a pdf", "save as markdown"], "never-built": []})
    assert kept.faqs == [FAQ("offline", "Offline?", source=PAGE, review_phrasings=())]
    assert kept.notes == ["FAQ export is no longer in the sources; dropped with it: 2 other phrasings from the "
                          "review loop"]
    # the first sync to a new dataset: only the review loop's phrasings, nothing served
    first = keep_phrasings([FAQ("export", "Can I export?", source=PAGE)], frozenset(), None, {"export": ["get a pdf"]})
    assert first.faqs[0].alternates == ("get a pdf",)


def test_only_the_recorded_review_phrasings_are_kept_not_what_the_source_dropped() -> None:
    """A page's further ``<dt>`` is the source's own phrasing: once the page drops it, so does the index."""
    before = served(FAQ("vpn", "How do I connect to the VPN?", alternates=("VPN setup", "remote access"),
                        source=PAGE, review_phrasings=("remote access",)))
    now = [FAQ("vpn", "How do I connect to the VPN?", source=PAGE, review_phrasings=())]
    [vpn] = keep_phrasings(now, frozenset(), before, {"vpn": ["vpn keeps dropping"]}).faqs
    assert vpn.alternates == ("remote access", "vpn keeps dropping")
    assert vpn.review_phrasings == ("remote access", "vpn keeps dropping")  # what the next sync keeps
    # the page now lists one of them itself: it is the source's, no longer the review loop's
    [vpn] = keep_phrasings([FAQ("vpn", "How do I connect to the VPN?", alternates=("Remote access?",), source=PAGE)],
                           frozenset(), served(vpn)).faqs
    assert vpn.alternates == ("Remote access?", "vpn keeps dropping")
    assert vpn.review_phrasings == ("vpn keeps dropping",)
