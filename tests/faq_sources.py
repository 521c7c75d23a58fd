"""FAQ sources and indexes for the release tests: the bundled Medicare sample,
changed a little (an FAQ added, an answer edited, a phrasing added), written
as CSV, built with the local model, or uploaded to the Hub stand-in."""

from __future__ import annotations

import csv
from pathlib import Path

from faq_core.embedders import Embedder
from faq_core.index import build_index_from_source, save_index
from faq_core.sample import sample_source
from faq_core.threshold import with_auto_threshold
from tests.stubs.hub_api import HubStub

Row = dict[str, str]
V2_MARK = " [v2]"  # on every answer of the second revision, so an answer tells which revision gave it
NEW_FAQ: Row = {
    "id": "lost-card-abroad", "question": "I lost my Medicare card while travelling abroad, what now?",
    "answer": "Print a copy from your Medicare.gov account; Medicare rarely covers care abroad anyway.",
    "url": "", "alternates": "my medicare card was stolen on holiday overseas", "tags": "",
}


def sample_rows() -> list[Row]:
    """The rows of the bundled sample source."""
    with sample_source().open(encoding="utf-8", newline="") as handle:
        return [dict(row) for row in csv.DictReader(handle)]


def write_source(path: Path, rows: list[Row]) -> Path:
    """``rows`` as an FAQ source CSV at ``path``."""
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return path


def changed_rows(*, add: bool = True, edit: str | None = "sign-up", phrasing: str | None = "part-b-premium",
                 remove: str | None = None, suffix: str = "") -> list[Row]:
    """The sample with NEW_FAQ added, ``edit``'s answer changed, a phrasing
    added to ``phrasing``, ``remove`` removed, and ``suffix`` on every answer."""
    rows = [row for row in sample_rows() if row["id"] != remove]
    for row in rows:
        if row["id"] == edit:
            row["answer"] += " (Updated: you can also apply at ssa.gov.)"
        if row["id"] == phrasing:
            row["alternates"] = "|".join(filter(None, [row["alternates"], "how much does part b cost me a month"]))
        row["answer"] += suffix
    if add:
        rows.append(dict(NEW_FAQ, answer=NEW_FAQ["answer"] + suffix))
    return rows


def build_folder(rows: list[Row], folder: Path, embedder: Embedder) -> Path:
    """Build ``rows`` into the index folder ``folder`` (its source CSV beside it)."""
    folder.parent.mkdir(parents=True, exist_ok=True)
    source = write_source(folder.parent / f"{folder.name}.csv", rows)
    return save_index(with_auto_threshold(build_index_from_source(source, embedder)), folder)


def upload(hub: HubStub, repo_id: str, folder: Path, message: str = "test upload") -> str:
    """Commit an index folder to the stand-in directly (set-up, not the code under test)."""
    return hub.upload_folder(repo_id, folder, message)


# Three small FAQs of three teams, for routing: each answers only its own questions.
TEAM_ROWS: dict[str, list[Row]] = {
    "it": [
        {"id": "it-vpn", "question": "How do I connect to the VPN?",
         "answer": "[IT] Install the VPN client from the software portal and sign in with your badge.",
         "url": "", "alternates": "vpn does not connect|working from home network access", "tags": ""},
        {"id": "it-password", "question": "How do I reset my password?",
         "answer": "[IT] Use the self-service password page; it asks for your phone code.",
         "url": "", "alternates": "forgot my password|locked out of my account", "tags": ""},
        {"id": "it-printer", "question": "Why is the printer not working?",
         "answer": "[IT] Restart the printer, then reinstall its driver from the portal.",
         "url": "", "alternates": "cannot print|printer offline", "tags": ""},
    ],
    "hr": [
        {"id": "hr-leave", "question": "How many vacation days do I get?",
         "answer": "[HR] Everyone gets 25 vacation days a year, plus public holidays.",
         "url": "", "alternates": "annual leave allowance|holiday entitlement", "tags": ""},
        {"id": "hr-sick", "question": "What do I do when I am sick?",
         "answer": "[HR] Tell your manager before 10am and record the day in the HR portal.",
         "url": "", "alternates": "calling in sick|sick leave", "tags": ""},
        {"id": "hr-parental", "question": "How long is parental leave?",
         "answer": "[HR] Parental leave is 16 weeks at full pay.",
         "url": "", "alternates": "maternity leave|paternity leave", "tags": ""},
    ],
    "finance": [
        {"id": "fin-expenses", "question": "How do I submit an expense report?",
         "answer": "[FIN] Photograph the receipt in the expenses app and submit it within 30 days.",
         "url": "", "alternates": "claim expenses|get reimbursed for a purchase", "tags": ""},
        {"id": "fin-invoice", "question": "When are supplier invoices paid?",
         "answer": "[FIN] Supplier invoices are paid 30 days after they are approved.",
         "url": "", "alternates": "invoice payment terms|when does a vendor get paid", "tags": ""},
        {"id": "fin-card", "question": "How do I get a company credit card?",
         "answer": "[FIN] Ask your manager to approve a card request in the finance portal.",
         "url": "", "alternates": "corporate card|company card application", "tags": ""},
    ],
}
TEAM_MARK = {"it": "[IT]", "hr": "[HR]", "finance": "[FIN]"}
# A question each team's FAQ answers (and the others do not)
TEAM_QUESTION = {"it": "how do I reset my password?", "hr": "how many vacation days do I get?",
                 "finance": "how do I submit an expense report?"}
