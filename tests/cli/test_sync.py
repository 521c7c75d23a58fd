"""``faq-bot sync SOURCES... REPO_ID`` as a scheduled job runs it: the
installed command against the Hub stand-in, re-reading the sources, pushing
one commit or saying "nothing changed", keeping the phrasings the review loop
added to FAQs of a page, and failing in one line with the exit status the
docs promise (1: a service failed; 2: something to fix)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from faq_core.index import load_index
from tests.cli.test_cli import assert_clean_error
from tests.cli.test_cli_failures import closed_endpoint, online
from tests.cli.test_multi_source import EXPORT, OFFLINE, PAY, page
from tests.conftest import CLIResult
from tests.core.conftest import write
from tests.stubs.hub_api import WRITE_TOKEN, HubStub
from tests.stubs.web import Page, WebStub

Run = Callable[..., CLIResult]
REPO = "acme/quillpad-faq"
EXTRA = "id,question,answer,alternates\nvpn,How do I connect to the VPN?,Install the client.,VPN not working\n"
ACCEPTED = ["can I get an invoice instead of paying by card", "do you take bank transfers"]


def commits(hub: HubStub) -> int:
    return sum(1 for r in hub.requests if r.method == "POST" and "/commit/" in r.path)


def env(hub_origin: str, **more: str) -> dict[str, str]:
    """The settings of a scheduled job: the Hub (stand-in), a write token, the local model, the bot's store."""
    return online(hub_origin, **{"HF_TOKEN": WRITE_TOKEN, "EMBEDDING_BACKEND": "local",
                                 "DATABASE_URL": "sqlite:///faq_bot.db", **more})


def test_sync_pushes_changes_once_and_keeps_the_review_loops_phrasings(
    hub: HubStub, run_cli: Run, tmp_path: Path
) -> None:
    from bot.features.review.decisions import accept
    from bot.store.database import Store

    write(tmp_path / "faq.html", page(PAY, EXPORT))
    write(tmp_path / "extra.csv", EXTRA)
    first = run_cli(["sync", "faq.html", "extra.csv", REPO], **env(hub.origin))
    assert first.code == 0, first.err
    assert "labelled questions: 0 from the store (no store)" in first.out
    assert "source faq.html: 2 added" in first.out and f"pushed datasets/{REPO} at commit" in first.out
    head = hub.head(REPO)

    again = run_cli(["sync", "faq.html", "extra.csv", REPO], **env(hub.origin))
    assert again.code == 0, again.err
    assert again.out.splitlines()[-1] == f"nothing changed: {REPO}@{head} already serves what the sources say"
    assert hub.head(REPO) == head and commits(hub) == 1

    # the review loop accepts two questions as phrasings of the page's billing FAQ
    store = Store(f"sqlite:///{tmp_path / 'faq_bot.db'}")
    accept(store, "c0ffee00", ACCEPTED, "billing", decided_by="U024BE7LH")
    store.close()
    reviewed = run_cli(["sync", "faq.html", "extra.csv", REPO], **env(hub.origin))
    assert reviewed.code == 0, reviewed.err
    assert "note: kept 2 phrasings from the review loop on 1 FAQ the sources do not list them for" in reviewed.out
    served = load_index(REPO, hub.head(REPO), endpoint=hub.origin)
    billing = served.faq_by_id("billing")
    assert billing is not None and list(billing.alternates) == ACCEPTED and billing.source == "faq.html"

    # re-imported without the store (another machine's cron): the page's FAQ keeps them from the served
    # revision; the CSV holds its own alternates, so a phrasing removed there stays removed
    write(tmp_path / "faq.html", page(OFFLINE, (PAY[0], PAY[1], "By card, invoice or bank transfer."), EXPORT))
    write(tmp_path / "extra.csv", EXTRA.replace("VPN not working", ""))
    elsewhere = run_cli(["sync", "faq.html", "extra.csv", REPO], **env(hub.origin, DATABASE_URL="sqlite:///none.db"))
    assert elsewhere.code == 0, elsewhere.err
    served = load_index(REPO, hub.head(REPO), endpoint=hub.origin)
    billing, vpn = served.faq_by_id("billing"), served.faq_by_id("vpn")
    assert billing is not None and list(billing.alternates) == ACCEPTED and "bank transfer" in (billing.answer or "")
    assert billing.review_phrasings == tuple(ACCEPTED)  # recorded as the review loop's, for the next sync
    assert vpn is not None and vpn.alternates == ()
    assert "  ~ FAQ billing (answer changed)" in elsewhere.out and "  + FAQ offline" in elsewhere.out
    assert "    - phrasing: VPN not working" in elsewhere.out

    # the FAQ leaves the page: its phrasings go with it, and the note says so
    write(tmp_path / "faq.html", page(OFFLINE, EXPORT))
    gone = run_cli(["sync", "faq.html", "extra.csv", REPO], **env(hub.origin))
    assert gone.code == 0, gone.err
    assert ("note: FAQ billing is no longer in the sources; dropped with it: 2 other phrasings from the review loop"
            in gone.out)
    assert load_index(REPO, hub.head(REPO), endpoint=hub.origin).faq_by_id("billing") is None
    assert commits(hub) == 4 and WRITE_TOKEN not in "".join(r.out + r.err for r in (first, reviewed, gone))


def test_sync_fails_in_one_line_with_the_right_status(hub: HubStub, run_cli: Run, tmp_path: Path) -> None:
    write(tmp_path / "faq.html", page(PAY, EXPORT))
    # a source missing among several: said before the Hub, the store or any model is asked
    missing = run_cli(["sync", "faq.html", "nosuch.md", "gone.csv", REPO], **env(hub.origin))
    assert assert_clean_error(missing, 2) == "faq-bot: error: nosuch.md: file not found (nor gone.csv)"
    assert not hub.requests

    # the Hub is down: a failed service, exit 1, and nothing about the token
    endpoint = closed_endpoint()
    down = run_cli(["sync", "faq.html", REPO], **env(endpoint))
    line = assert_clean_error(down, 1)
    assert f"the Hub at {endpoint}" in line and WRITE_TOKEN not in down.out + down.err

    # a source's server fails mid-way through the sources: exit 1, nothing pushed
    with WebStub() as web:
        url = web.route("/help/faq", Page(b"upstream trouble", status=503))
        failing = run_cli(["sync", "faq.html", url, REPO], **env(hub.origin))
    line = assert_clean_error(failing, 1)
    assert line.startswith(f"faq-bot: error: {url}: ") and "503" in line
    assert REPO not in hub.repos

    no_token = run_cli(["sync", "faq.html", REPO], **env(hub.origin, HF_TOKEN=""))
    assert assert_clean_error(no_token, 2).startswith("faq-bot: error: HF_TOKEN is not set")
