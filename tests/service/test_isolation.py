"""Tenant isolation, tested as an attacker would: the bot serves workspace A
(its token's team) and shares its store with workspace B and a Discord guild.

Payloads signed with the app's secret but naming B (inside the event, the
button, the envelope itself) never read or write B's rows: what a request
stores and reads is the tenant its token belongs to. A's App Home, and the
command line's review, digest, status and publish gate for A, never show B's
questions; with several tenants and none chosen, the command line says how
to choose instead of mixing them. Through the real Slack bot in HTTP mode."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from bot.cli import main as cli
from bot.conversation.answering import Answered, Answerer, Asked
from bot.conversation.payloads import AnswerRef
from bot.features.handoff import claim_handoff, handoffs
from bot.features.recording import record_question, recorded_questions, recorder
from bot.slack import blocks
from bot.slack.settings import SlackSettings
from bot.store.database import Store, Vote
from bot.store.scoping import Scope
from bot.tenancy import Tenant
from faq_core.engine import FAQEngine
from tests.slack.conftest import RunningBot, start_bot, stop_bot
from tests.stubs.slack_api import BOT_USER_ID, TEAM_ID, SlackAPIStub
from tests.stubs.slack_payloads import (
    button_click,
    buttons,
    home_opened,
    mention,
    signed_action,
    signed_event,
)

A = Tenant.slack(TEAM_ID)
B = Tenant.slack("TBRAVO22", "EBRAVO9")
G = Tenant.discord("1000000000000000100")
ADMIN = "UADMIN001"
HELP_DESK = "C0HELPDESK"
MENTION = f"<@{BOT_USER_ID}>"
A_MISS = "What's the wifi password in the Berlin office?"
B_SECRET = "When will the Bravo layoffs be announced?"
G_SECRET = "Where is the guild's private treasure map?"


def seed(store: Store, engine: FAQEngine) -> None:
    """Misses of A, B and the guild, as the bot records them, each asked by two people; B's first is voted on."""
    answerer = Answerer(engine, observers=[recorder(store, SlackSettings(), engine)])
    for tenant, text in ((A, A_MISS), (B, B_SECRET), (G, G_SECRET)):
        for person in (1, 2):
            answerer.reply(text, bot_user_id=None, asked=Asked(
                platform=tenant.platform, channel_kind="channel", workspace=tenant.workspace, channel_id="C1",
                user_id=f"U{person}", key=f"seed:{tenant}:{person}", enterprise=tenant.enterprise))
    b_answer = b_answer_id(store)
    store.record_vote(Vote(b_answer, "UVICTIM1", B_SECRET, None, None, "C1", "helpful", tenant=B))


def b_answer_id(store: Store) -> str:
    [first, *_] = recorded_questions(store, scope=Scope(B))
    assert first.answer_id
    return first.answer_id


@pytest.fixture()
def tenant_bot(settings: SlackSettings, engine: FAQEngine, store: Store) -> Iterator[RunningBot]:
    seed(store, engine)
    running = start_bot(replace(settings, faq_admins=(ADMIN,), faq_handoff=HELP_DESK), engine, store)
    yield running
    stop_bot(running)


def forged(payload: dict, team: str, enterprise: str | None = None) -> dict:
    """``payload`` with every team and enterprise field an attacker can write set to B's."""
    text = json.dumps(payload).replace(TEAM_ID, team)
    forged_payload = json.loads(text)
    event = forged_payload.get("event") or {}
    event.update(team=team, user_team=team, source_team=team)
    if enterprise:
        forged_payload["enterprise_id"] = enterprise
        forged_payload.setdefault("enterprise", {"id": enterprise})
    return forged_payload


def ask(bot: RunningBot, slack_api: SlackAPIStub, payload: dict) -> dict:
    """Send a mention; the bot's reply in the channel."""
    before = len(slack_api.calls_to("chat.postMessage"))
    assert bot.send(signed_event(payload)).status_code == 200
    reply = slack_api.wait_calls("chat.postMessage", count=before + 1)[before]
    bot.settle()
    return dict(reply.params) | {"message": reply.response["message"]}


@pytest.mark.parametrize("envelope_too", [False, True], ids=["inner-fields", "envelope-too"])
def test_a_question_naming_another_workspace_is_recorded_as_the_tokens_own(
        tenant_bot: RunningBot, slack_api: SlackAPIStub, store: Store, envelope_too: bool) -> None:
    payload = mention(f"{MENTION} How much does Part B cost?")
    if envelope_too:  # the envelope and its authorizations name B as well: the token is still A's
        payload = forged(payload, B.workspace, B.enterprise)
    else:
        payload["event"].update(team=B.workspace, user_team=B.workspace, source_team=B.workspace)
    ask(tenant_bot, slack_api, payload)
    [recorded] = [q for q in recorded_questions(store) if q.key and q.key.startswith("message:")]
    assert (recorded.platform, recorded.workspace, recorded.enterprise) == ("slack", TEAM_ID, None)
    assert len(recorded_questions(store, scope=Scope(B))) == 2  # B's rows: only its own two


def test_a_vote_on_another_workspaces_answer_changes_none_of_its_votes(
        tenant_bot: RunningBot, slack_api: SlackAPIStub, store: Store) -> None:
    reply = ask(tenant_bot, slack_api, mention(f"{MENTION} How much does Part B cost?"))
    button = buttons(reply["blocks"])[blocks.NOT_HELPFUL]
    stolen = replace(AnswerRef.decode(button["value"]), answer_id=b_answer_id(store), query=B_SECRET)
    click = forged(button_click({**button, "value": stolen.encode()}, response_url=slack_api.response_url("v"),
                                message=reply["message"]), B.workspace)
    click["user"]["id"] = "UVICTIM1"  # even B's voter's own id, from A's side
    assert tenant_bot.send(signed_action(click)).status_code == 200
    slack_api.wait_for(lambda calls: any(c.method == "chat.update" for c in calls))
    tenant_bot.settle()
    assert store.tally(b_answer_id(store), Scope(B)) == (1, 0)  # B's vote is as B cast it
    assert store.votes(Scope(A)) == []  # and nothing of B's answer became A's either
    [update] = slack_api.calls_to("chat.update")  # the tally shown is A's: nothing of B's
    assert "Feedback so far: 0 helpful · 0 not helpful." in json.dumps(update.params, ensure_ascii=False)


def test_a_hand_off_naming_another_workspaces_answer_never_posts_its_question(
        tenant_bot: RunningBot, slack_api: SlackAPIStub, store: Store) -> None:
    reply = ask(tenant_bot, slack_api, mention(f"{MENTION} {A_MISS}"))
    button = buttons(reply["blocks"])[blocks.HANDOFF]
    stolen = replace(AnswerRef.decode(button["value"]), answer_id=b_answer_id(store), query="anything")
    click = forged(button_click({**button, "value": stolen.encode()}, response_url=slack_api.response_url("h"),
                                message=reply["message"]), B.workspace)
    assert tenant_bot.send(signed_action(click)).status_code == 200
    slack_api.wait_for(lambda calls: any(c.path.endswith("/h") for c in calls))
    tenant_bot.settle()
    shown = json.dumps([c.params for c in slack_api.calls])
    assert B_SECRET not in shown  # B's question text never reaches A's channels
    [claimed] = handoffs(store)
    assert claimed.workspace == TEAM_ID
    # and once B's own answer is claimed by B, a click from A learns nothing of where it went
    other = recorded_questions(store, scope=Scope(B))[1].answer_id or ""
    assert claim_handoff(store, answer_id=other, work_key="b", target="CBRAVOHR", requested_by="U1", tenant=B)
    assert claim_handoff(store, answer_id=other, work_key="a", target=HELP_DESK, requested_by="U1",
                         tenant=A) is None


def test_the_app_home_of_a_shows_only_as_questions_even_when_the_event_names_b(
        tenant_bot: RunningBot, slack_api: SlackAPIStub) -> None:
    tenant_bot.send(signed_event(forged(home_opened(user=ADMIN), B.workspace, B.enterprise)))
    [home] = slack_api.wait_calls("views.publish")
    shown = json.dumps(home.params["view"])
    assert A_MISS in shown
    assert B_SECRET not in shown and G_SECRET not in shown


def test_the_command_line_reads_one_tenant_and_asks_which_when_there_are_several(
        store: Store, engine: FAQEngine, db_url: str, sample_index_dir: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    seed(store, engine)
    monkeypatch.setenv("DATABASE_URL", db_url)
    monkeypatch.setenv("EMBEDDING_BACKEND", "local")
    index = ["--index", str(sample_index_dir)]
    assert cli.main(["review", *index]) == 2  # three tenants, none chosen
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and "--workspace" in err and "slack:EBRAVO9/TBRAVO22" in err
    assert cli.main(["review", "--format", "jsonl", "--workspace", TEAM_ID, *index]) == 0
    out = capsys.readouterr().out
    assert A_MISS in out and B_SECRET not in out and G_SECRET not in out
    assert cli.main(["review", "--format", "jsonl", "--guild", G.workspace, *index]) == 0
    out = capsys.readouterr().out
    assert G_SECRET in out and A_MISS not in out and B_SECRET not in out
    assert cli.main(["digest", "--current", "--no-clusters", "--workspace", "EBRAVO9/TBRAVO22"]) == 0
    assert "2 questions seen" in capsys.readouterr().out
    assert cli.main(["status", "--json", "--workspace", "slack:TBRAVO22"]) == 0
    status = json.loads(capsys.readouterr().out)
    assert status["tenant"] == {"name": "slack:TBRAVO22", "questions": 2, "votes": 1, "erasure_due": None}
    assert cli.main(["review", "--workspace", "T123;DROP TABLE", *index]) == 2
    assert "letters and digits" in capsys.readouterr().err


def test_publish_gates_on_the_chosen_tenants_labels_only(store: Store, db_url: str,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    from argparse import Namespace

    from bot.cli.release import labelled_from_store
    from bot.settings import BotSettings

    for tenant, text, faq in ((A, "how do I enrol", "sign-up"), (B, B_SECRET, "layoffs")):
        asked = Asked(tenant.platform, "channel", tenant.workspace, "C1", "U1", key=f"l:{tenant}",
                      enterprise=tenant.enterprise)
        record_question(store, Answered(asked, text, None, "no_match", 0.1, answer_id=f"{tenant.workspace}-1"))
        store.record_vote(Vote(f"{tenant.workspace}-1", "U1", text, faq, 0.9, "C1", "helpful", tenant=tenant))
    settings = BotSettings(database_url=db_url)
    labels, origin = labelled_from_store(settings, Namespace(workspace=TEAM_ID, guild=None))
    assert [label.text for label in labels] == ["how do I enrol"] and str(A) in origin
