"""Replicas converging on a revision through the store, ``faq-bot rollback``
and ``status``, the Hub webhook on the bot's HTTP server, ``/readyz`` and the
admins' App Home; on SQLite and (with ``TEST_DATABASE_URL``) PostgreSQL."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

import pytest
import requests

from bot.cli import main as cli
from bot.conversation.answering import Answered, Answerer, Asked
from bot.conversation.replies import Kind
from bot.features.recording import (
    forget_old_questions,
    labelled_questions,
    record_pick,
    record_question,
    recorded_questions,
    recorder,
)
from bot.ops.readiness import revision_detail
from bot.serving.holder import ServingEngine
from bot.serving.hub_webhook import WEBHOOK_PATH
from bot.serving.reload import Reloader
from bot.serving.reloading import Reloading, start_reloading
from bot.serving.replicas import ReplicaRegistry, current_pin, replicas
from bot.settings import BotSettings
from bot.slack.app import build_app, drain
from bot.slack.http_server import BotHTTPServer
from bot.store.database import Store, Vote
from bot.store.migrations import upgrade
from bot.tenancy import Tenant
from faq_core.embedders import LocalEmbedder
from faq_core.engine import FAQEngine
from faq_core.evaluation import LabelledQuery
from faq_core.index import load_index, local_revision, save_index
from tests.faq_sources import V2_MARK, sample_rows, upload, write_source
from tests.stubs.hub_api import HubStub
from tests.stubs.slack_api import SlackAPIStub
from tests.stubs.slack_payloads import USER, home_opened, signed_event

REPO = "acme/faq"
WAIT = 60.0
SECRET = "hub-webhook-secret-42"


def replica_settings(hub: HubStub, db_url: str, **changes: object) -> BotSettings:
    base = dataclasses.replace(BotSettings.load(dotenv=False), faq_index=REPO, hf_endpoint=hub.origin,
                               database_url=db_url, faq_reload_seconds=0.2)
    return dataclasses.replace(base, **changes)  # type: ignore[arg-type]


class Replica:
    """One bot process's reload side: its own store connection, holder and reloader."""

    def __init__(self, name: str, settings: BotSettings, revision: str | None, embedder: LocalEmbedder) -> None:
        self.store = Store(settings.database_url)
        assert settings.faq_index
        index = load_index(settings.faq_index, revision, endpoint=settings.hf_endpoint)
        self.serving = ServingEngine(FAQEngine(index, embedder))
        self.reloader = Reloader(self.serving, settings, registry=ReplicaRegistry(self.store, name))
        self.reloader.check_now()
        self.reloader.start()

    def close(self) -> None:
        self.reloader.stop()
        self.store.close()


@contextmanager
def two_replicas(settings: BotSettings, revision: str | None, embedder: LocalEmbedder
                 ) -> Iterator[tuple[Replica, Replica]]:
    """Replicas ``replica-a`` and ``replica-b`` serving ``revision`` of FAQ_INDEX and following it."""
    a, b = (Replica(name, settings, revision, embedder) for name in ("replica-a", "replica-b"))
    try:
        yield a, b
    finally:
        a.close()
        b.close()


def converge(replicas: tuple[Replica, ...], revision: str) -> None:
    """Wait until every replica serves ``revision`` (each on its own reloader's checks)."""
    for replica in replicas:
        assert replica.reloader.wait_until(lambda r=replica: r.serving.revision == revision, WAIT), replica


def run(argv: list[str], settings: BotSettings, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
        ) -> tuple[int, str, str]:
    """``faq-bot`` in-process with ``settings`` as its environment."""
    monkeypatch.setattr(cli, "setup_logging", lambda *a, **k: None)
    monkeypatch.setenv("FAQ_INDEX", settings.faq_index or "")
    monkeypatch.setenv("DATABASE_URL", settings.database_url)
    monkeypatch.setenv("FAQ_RELOAD_SECONDS", str(settings.faq_reload_seconds))
    code = cli.main(argv)
    printed = capsys.readouterr()
    return code, printed.out, printed.err


def test_two_replicas_converge_then_rollback_pins_both_and_unpin_releases_them(
    hub: HubStub, revision_folders: dict[str, Path], local_embedder: LocalEmbedder, any_db_url: str,
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path,
) -> None:
    monkeypatch.chdir(tmp_path)
    settings = replica_settings(hub, any_db_url)
    v1 = upload(hub, REPO, revision_folders["v1"])
    with two_replicas(settings, v1, local_embedder) as (a, b):
        v2 = upload(hub, REPO, revision_folders["v2"])
        converge((a, b), v2)
        assert a.serving.answer("How do I sign up for Medicare?").best.answer.endswith(V2_MARK)
        code, out, _ = run(["status", "--json"], settings, monkeypatch, capsys)
        status = json.loads(out)
        assert code == 0 and status["head"] == v2 and status["converged"] is True and status["pinned"] is None
        assert sorted((r["replica"], r["revision"]) for r in status["replicas"]) == [("replica-a", v2),
                                                                                       ("replica-b", v2)]

        code, out, _ = run(["rollback", v1], settings, monkeypatch, capsys)
        assert code == 0 and f"pinned every replica to {v1}" in out
        converge((a, b), v1)
        assert not a.serving.answer("How do I sign up for Medicare?").best.answer.endswith(V2_MARK)
        code, out, _ = run(["status"], settings, monkeypatch, capsys)
        assert f"pinned by rollback: {v1}" in out and f"converged: every live replica serves {v1}" in out

        code, out, _ = run(["rollback", "--unpin"], settings, monkeypatch, capsys)
        assert code == 0 and "removed the pin" in out
        converge((a, b), v2)


def test_a_folders_build_is_named_alike_everywhere_and_status_sees_replicas_converge_on_the_newest(
    revision_folders: dict[str, Path], local_embedder: LocalEmbedder, db_url: str, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str], tmp_path: Path,
) -> None:
    monkeypatch.chdir(tmp_path)
    served = save_index(load_index(revision_folders["v1"]), tmp_path / "served")
    settings = dataclasses.replace(BotSettings.load(dotenv=False), faq_index=str(served), database_url=db_url,
                                   faq_reload_seconds=0.2)
    first = local_revision(served)
    code, out, _ = run(["index", "info", str(served)], settings, monkeypatch, capsys)
    assert code == 0 and json.loads(out)["revision"] == first
    with two_replicas(settings, None, local_embedder) as (a, b):
        converge((a, b), first)
        assert revision_detail(a.serving, a.store)()["serving"] == first  # what /readyz says
        code, out, _ = run(["status", "--json"], settings, monkeypatch, capsys)
        status = json.loads(out)
        assert code == 0 and status["head"] == status["target"] == first and status["converged"] is True

        b.reloader.stop()  # b stops following: it goes on reporting the first build
        save_index(load_index(revision_folders["v2"]), served)  # what 'faq-bot index build --out served' does
        newest = local_revision(served)
        converge((a,), newest)
        code, out, _ = run(["status"], settings, monkeypatch, capsys)
        assert f"FAQ index: {served}, its newest build is {newest}" in out
        assert "pinned by rollback: no (replicas follow the newest build of the folder)" in out
        assert f"replica-b  {first}" in out and f"not converged yet: the target is {newest}" in out
        b.reloader.check_now()  # its next check
        assert b.serving.revision == newest
        code, out, _ = run(["status"], settings, monkeypatch, capsys)
        assert f"converged: every live replica serves {newest}" in out


def test_rollback_refuses_a_revision_the_hub_does_not_have(
    hub: HubStub, revision_folders: dict[str, Path], db_url: str, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str], tmp_path: Path,
) -> None:
    monkeypatch.chdir(tmp_path)
    upload(hub, REPO, revision_folders["v1"])
    code, _, err = run(["rollback", "f" * 40], replica_settings(hub, db_url), monkeypatch, capsys)
    assert code == 2 and f"faq-bot: error: the Hub dataset {REPO} has no revision {'f' * 40}" in err
    store = Store(db_url)
    assert current_pin(store) is None
    store.close()


@pytest.fixture()
def reloading_bot(hub: HubStub, revision_folders: dict[str, Path], local_embedder: LocalEmbedder,
                  settings: BotSettings, store: Store) -> Iterator[tuple[BotHTTPServer, Reloading, BotSettings]]:
    """The Slack bot in HTTP mode serving v1 and following main, with the
    webhook mounted and a reload interval of an hour (only the webhook is in time)."""
    v1 = upload(hub, REPO, revision_folders["v1"])
    bot_settings = dataclasses.replace(settings, faq_index=REPO, hf_endpoint=hub.origin, faq_reload_seconds=3600,
                                       hub_webhook_secret=SECRET, faq_admins=(USER,))
    serving = ServingEngine(FAQEngine(load_index(REPO, v1, endpoint=hub.origin), local_embedder))
    reloading = start_reloading(serving, bot_settings, store)
    assert reloading is not None
    app = build_app(bot_settings, serving, store)
    server = BotHTTPServer(app, serving, "127.0.0.1", 0, signing_secret=bot_settings.slack_signing_secret or "",
                           store=store, routes=reloading.routes)
    server.start_background()
    yield server, reloading, bot_settings
    server.shutdown()
    server.server_close()
    drain(app)
    reloading.stop()


def webhook_payload(repo: str = REPO) -> dict[str, object]:
    """What the Hub POSTs when a dataset's main branch moves."""
    return {"event": {"action": "update", "scope": "repo.content"},
            "repo": {"type": "dataset", "name": repo, "id": "6543", "headSha": "0" * 40},
            "updatedRefs": [{"ref": "refs/heads/main", "oldSha": "1" * 40, "newSha": "0" * 40}]}


def test_the_hub_webhook_reloads_in_seconds_and_a_bad_secret_is_refused(
    reloading_bot: tuple[BotHTTPServer, Reloading, BotSettings], hub: HubStub, revision_folders: dict[str, Path],
    slack_api: SlackAPIStub, store: Store, caplog: pytest.LogCaptureFixture,
) -> None:
    server, reloading, _ = reloading_bot
    url = f"http://127.0.0.1:{server.port}"
    serving = server.http.engine
    assert isinstance(serving, ServingEngine)
    v1 = serving.revision
    v2 = upload(hub, REPO, revision_folders["v2"])
    checks = reloading.reloader.checks
    for headers in ({}, {"X-Webhook-Secret": "guess"}, {"X-Webhook-Secret": SECRET + "x"}):
        refused = requests.post(url + WEBHOOK_PATH, json=webhook_payload(), headers=headers, timeout=10)
        assert refused.status_code == 401
    assert caplog.text.count("refused a Hub webhook") == 3 and SECRET not in caplog.text
    other = requests.post(url + WEBHOOK_PATH, json=webhook_payload("someone/else"),
                          headers={"X-Webhook-Secret": SECRET}, timeout=10)
    assert other.status_code == 200 and other.json()["reload"] is False
    assert reloading.reloader.checks == checks and serving.revision == v1  # nothing was checked

    accepted = requests.post(url + WEBHOOK_PATH, json=webhook_payload(), headers={"X-Webhook-Secret": SECRET},
                             timeout=10)
    assert accepted.status_code == 202
    assert reloading.reloader.wait_until(lambda: serving.revision == v2, WAIT)

    ready = requests.get(url + "/readyz", timeout=10).json()
    assert ready["revision"]["serving"] == v2 and ready["revision"]["pinned"] is None
    assert [r["revision"] for r in ready["revision"]["replicas"]] == [v2]

    signed = signed_event(home_opened())
    requests.post(url + "/slack/events", data=signed.body, headers=signed.headers, timeout=10)
    [home] = slack_api.wait_calls("views.publish")
    shown = json.dumps(home.params["view"])
    assert f"Serving revision `{v2}` since" in shown


def test_the_app_home_of_someone_not_an_admin_shows_no_revision(
    reloading_bot: tuple[BotHTTPServer, Reloading, BotSettings], slack_api: SlackAPIStub
) -> None:
    server, _, _ = reloading_bot
    signed = signed_event(home_opened(user="UNOTADMIN"))
    requests.post(f"http://127.0.0.1:{server.port}/slack/events", data=signed.body, headers=signed.headers,
                  timeout=10)
    [home] = slack_api.wait_calls("views.publish")
    assert "Serving revision" not in json.dumps(home.params["view"])


def test_labelled_questions_are_the_distinct_helpful_votes_and_picks(any_db_url: str) -> None:
    store = Store(any_db_url)
    try:
        question = "How do I sign up for Medicare?"
        store.record_vote(Vote("a1", "U1", question, "sign-up", 0.9, "C1", "helpful"))
        store.record_vote(Vote("a2", "U2", question, "sign-up", 0.9, "C1", "helpful"))
        store.record_vote(Vote("a3", "U3", "Can I cancel Part B?", "terminate-part-b", 0.8, "C1", "not_helpful"))
        store.record_vote(Vote("a4", "U4", "What is IRMAA?", "higher-income-premiums", 0.7, "C1", "helpful"))
        asked = Asked("slack", "channel", "T1", "C1", "U5", key="event:Ev1")
        record_question(store, Answered(asked, "part b or part a first?", None, "ambiguous", 0.1, answer_id="a5"))
        record_pick(store, key="pick:1", answer_id="a5", faq_id="part-b-with-part-a", tenant=Tenant.slack("T1"))
        assert labelled_questions(store) == [LabelledQuery("How do I sign up for Medicare?", "sign-up"),
                                             LabelledQuery("What is IRMAA?", "higher-income-premiums"),
                                             LabelledQuery("part b or part a first?", "part-b-with-part-a")]
        store.forget_old_feedback(retention_days=-1)  # forgotten text is no label
        forget_old_questions(store, retention_days=-1)
        assert labelled_questions(store) == []
        assert replicas(store) == []
    finally:
        store.close()


def test_the_replicas_migration_downgrades_and_upgrades_again(any_db_url: str) -> None:
    from alembic import command

    from bot.store.migrations import _config, head

    store = Store(any_db_url)
    try:
        ReplicaRegistry(store, "r1").record("abc", index_name="acme/faq@abc", changed_at=datetime.now(UTC))
        with store.engine.begin() as connection:
            command.downgrade(_config(connection), "0003")
        assert upgrade(store.engine) == ("0003", head())  # 0004 and every later step
        assert replicas(store) == []
    finally:
        store.close()


UNANSWERED = "Does Medicare pay for a hospital stay when I travel abroad?"
TRAVEL_FAQ = {"id": "travel-abroad", "question": "Does Medicare cover care outside the United States?",
              "answer": "Usually not: Original Medicare rarely pays for care abroad; look at a Medigap plan or travel "
                        "insurance before you go.", "url": "", "alternates": "", "tags": ""}


def test_the_whole_loop_unanswered_recorded_accepted_published_reloaded_answered(
    hub: HubStub, revision_folders: dict[str, Path], local_embedder: LocalEmbedder, db_url: str,
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path,
) -> None:
    """docs/publishing.md's walkthrough, step by step, against the stand-ins."""
    monkeypatch.chdir(tmp_path)
    settings = replica_settings(hub, db_url)
    v1 = upload(hub, REPO, revision_folders["v1"])
    with two_replicas(settings, v1, local_embedder) as (a, b):
        # 1. a question goes unanswered, and is recorded for review
        answerer = Answerer(a.serving, observers=[recorder(a.store, settings, a.serving)])
        assert answerer.reply(UNANSWERED, bot_user_id="B1").kind is not Kind.ANSWER
        [missed] = recorded_questions(a.store)
        assert (missed.text, missed.outcome) == (UNANSWERED, "no_match")
        # 2. accepted: the next FAQ source holds a new FAQ with the question as a phrasing
        #    (what 'faq-bot review new ... ; faq-bot review apply' writes)
        write_source(tmp_path / "faqs.next.csv", [*sample_rows(), dict(TRAVEL_FAQ, alternates=missed.text)])
        # 3. publish gates (on the store's labels: a helpful vote) and pushes one commit
        a.store.record_vote(Vote("a1", "U1", "How do I sign up for Medicare?", "sign-up", 0.9, "C1", "helpful"))
        monkeypatch.setenv("EMBEDDING_BACKEND", "local")
        code, out, err = run(["publish", "faqs.next.csv", REPO], settings, monkeypatch, capsys)
        assert code == 0, err
        assert "labelled questions: 1 from the store" in out and "1 FAQ added, 0 edited, 0 removed" in out
        v2 = hub.head(REPO)
        assert v2 != v1 and f"FAQ_INDEX_REVISION={v2}" in out
        # 4. every replica reloads it, without a restart
        converge((a, b), v2)
        # 5. the same question is answered now, by either replica
        for replica in (a, b):
            answer = replica.serving.answer(UNANSWERED)
            assert answer.answered and answer.best is not None and answer.best.faq_id == "travel-abroad"
