"""The FAQ review in Slack, for admins only: the App Home section lists the
clusters of missed questions with "Add as phrasing of [FAQ ▾]", "New FAQ…"
and "Dismiss"; each decision goes through the review's decision API into the
same store; a non-admin never sees the section, and a review payload sent in
a non-admin's name (forged, or an admin's replayed with another user) is
refused and logged, with nothing recorded or opened. Everything goes through
the real bot in HTTP mode with signed requests and the Slack stand-in."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from dataclasses import replace
from itertools import count
from typing import Any

import pytest

from bot.conversation.answering import Answerer, Asked
from bot.features.recording import recorder
from bot.features.review.clusters import review
from bot.features.review.decisions import ACCEPT, DISMISS, NEW, decisions
from bot.slack import review_views as views
from bot.slack.settings import SlackSettings
from bot.store.database import Store
from faq_core.engine import FAQEngine
from tests.service.test_review import HOLIDAYS, VPN
from tests.slack.conftest import RunningBot, close_socket_bot, connect_socket_bot, start_bot, stop_bot
from tests.stubs.slack_api import TEAM_ID, SlackAPIStub
from tests.stubs.slack_payloads import (
    USER,
    elements,
    home_action,
    home_opened,
    sign,
    signed_action,
    signed_event,
    view_submission,
)
from tests.stubs.socket_mode import SocketModeStub

ADMIN = "UADMIN001"
_keys = count(1)


def seed_misses(store: Store, engine: FAQEngine) -> None:
    """Questions the sample (Medicare) index cannot answer, recorded as the bot records them."""
    answerer = Answerer(engine, observers=[recorder(store, SlackSettings(), engine)])
    for people, texts in ((3, HOLIDAYS), (2, VPN)):
        for person in range(people):
            for text in texts:
                answerer.reply(text, bot_user_id=None, asked=Asked(
                    platform="slack", channel_kind="channel", workspace=TEAM_ID, channel_id="C1",
                    user_id=f"U{person}", key=f"seed:{next(_keys)}"))


@pytest.fixture()
def admin_bot(settings: SlackSettings, engine: FAQEngine, store: Store) -> Iterator[RunningBot]:
    """The bot with one FAQ admin and recorded misses to review."""
    seed_misses(store, engine)
    running = start_bot(replace(settings, faq_admins=(ADMIN,)), engine, store)
    yield running
    stop_bot(running)


def open_home(bot: RunningBot, slack_api: SlackAPIStub, user: str) -> dict[str, Any]:
    """Open ``user``'s Home tab; the view the bot published (checked by the stand-in)."""
    before = len(slack_api.calls_to("views.publish"))
    bot.send(signed_event(home_opened(user=user)))
    publish = slack_api.wait_calls("views.publish", count=before + 1)[before]
    assert publish.ok, publish.response
    assert publish.params["user_id"] == user
    return dict(publish.params["view"])


def next_home(bot: RunningBot, slack_api: SlackAPIStub, before: int) -> dict[str, Any]:
    publish = slack_api.wait_calls("views.publish", count=before + 1)[before]
    assert publish.ok, publish.response
    bot.settle()
    return dict(publish.params["view"])


def review_controls(view: dict[str, Any], kind: str) -> list[dict[str, Any]]:
    return [e for action, e in elements(view["blocks"]).items() if action.startswith(kind + ":")]


def cluster_with(view: dict[str, Any], text: str) -> str:
    """The id of the cluster whose examples hold ``text``."""
    for block in view["blocks"]:
        if block["type"] == "section" and text in block["text"]["text"]:
            index = view["blocks"].index(block)
            controls = view["blocks"][index + 2]
            return views.cluster_of(controls["elements"][1]["action_id"])
    raise AssertionError(f"no cluster shows {text!r}")


def test_only_admins_see_the_review_with_clusters_and_their_controls(admin_bot: RunningBot,
                                                                     slack_api: SlackAPIStub) -> None:
    home = open_home(admin_bot, slack_api, ADMIN)
    shown = json.dumps(home, ensure_ascii=False)
    assert "FAQ review" in shown and "How to ask" in shown
    assert HOLIDAYS[0] in shown and VPN[0] in shown
    assert "3 people asked" in shown  # ranked by people: the holidays cluster first
    assert shown.index("When is the office closed") < shown.index("VPN password")
    for kind in (views.REVIEW_FAQ, views.REVIEW_ACCEPT, views.REVIEW_NEW, views.REVIEW_DISMISS):
        assert len(review_controls(home, kind)) == 2, kind
    [select, _] = review_controls(home, views.REVIEW_FAQ)
    assert 1 <= len(select["options"]) <= 100

    other = json.dumps(open_home(admin_bot, slack_api, USER), ensure_ascii=False)
    assert "How to ask" in other
    assert "FAQ review" not in other and "faq_review" not in other and HOLIDAYS[0] not in other


def test_an_admin_dismisses_a_cluster_and_it_leaves_the_review(admin_bot: RunningBot, slack_api: SlackAPIStub,
                                                               store: Store) -> None:
    home = open_home(admin_bot, slack_api, ADMIN)
    vpn = cluster_with(home, VPN[0])
    dismiss = elements(home["blocks"])[views.action_id(views.REVIEW_DISMISS, vpn)]
    before = len(slack_api.calls_to("views.publish"))
    assert admin_bot.send(signed_action(home_action(dismiss, home, user=ADMIN))).status_code == 200
    after = next_home(admin_bot, slack_api, before)
    [decision] = decisions(store)
    assert (decision.action, decision.cluster, decision.decided_by) == (DISMISS, vpn, f"slack:{ADMIN}")
    assert set(decision.texts) == set(VPN)
    shown = json.dumps(after, ensure_ascii=False)
    assert "3 questions dismissed" in shown and VPN[0] not in shown and HOLIDAYS[0] in shown


def test_an_admin_adds_a_cluster_as_phrasings_of_the_faq_chosen_in_the_select(
        admin_bot: RunningBot, slack_api: SlackAPIStub, store: Store, engine: FAQEngine) -> None:
    home = open_home(admin_bot, slack_api, ADMIN)
    holidays = cluster_with(home, HOLIDAYS[0])
    controls = elements(home["blocks"])
    select = controls[views.action_id(views.REVIEW_FAQ, holidays)]
    chosen = select["options"][2]
    # choosing in the select only changes the view's state
    admin_bot.send(signed_action(home_action(select, home, user=ADMIN, selected=chosen)))
    state = {views.block_id(holidays): {select["action_id"]: {"type": "static_select", "selected_option": chosen}}}
    add = controls[views.action_id(views.REVIEW_ACCEPT, holidays)]
    before = len(slack_api.calls_to("views.publish"))
    admin_bot.send(signed_action(home_action(add, home, user=ADMIN, state=state)))
    after = next_home(admin_bot, slack_api, before)
    [decision] = decisions(store)
    assert (decision.action, decision.faq_id) == (ACCEPT, chosen["value"])
    assert set(decision.texts) == set(HOLIDAYS)
    faq = engine.index.faq_by_id(chosen["value"])
    assert faq is not None and "added as phrasings of" in json.dumps(after, ensure_ascii=False)


def test_add_as_phrasing_without_a_choice_takes_the_suggestion_or_asks_for_one(
        admin_bot: RunningBot, slack_api: SlackAPIStub, store: Store) -> None:
    home = open_home(admin_bot, slack_api, ADMIN)
    controls = elements(home["blocks"])
    for select in review_controls(home, views.REVIEW_FAQ):
        cluster = views.cluster_of(select["action_id"])
        before = len(slack_api.calls_to("views.publish"))
        admin_bot.send(signed_action(home_action(controls[views.action_id(views.REVIEW_ACCEPT, cluster)], home,
                                                 user=ADMIN)))
        after = json.dumps(next_home(admin_bot, slack_api, before), ensure_ascii=False)
        preselected = select.get("initial_option")
        if preselected:
            assert [d.faq_id for d in decisions(store) if d.cluster == cluster] == [preselected["value"]]
        else:  # suggested as a new FAQ: nothing to add to until the admin picks one
            assert "choose the FAQ" in after and not [d for d in decisions(store) if d.cluster == cluster]


def test_new_faq_opens_a_modal_whose_submission_drafts_the_faq(admin_bot: RunningBot, slack_api: SlackAPIStub,
                                                               store: Store) -> None:
    home = open_home(admin_bot, slack_api, ADMIN)
    vpn = cluster_with(home, VPN[0])
    new = elements(home["blocks"])[views.action_id(views.REVIEW_NEW, vpn)]
    assert admin_bot.send(signed_action(home_action(new, home, user=ADMIN))).status_code == 200
    [opened] = slack_api.wait_calls("views.open")
    assert opened.ok, opened.response  # a modal Slack accepts, opened within the click's trigger
    modal = opened.params["view"]
    fields = {b["block_id"]: b for b in modal["blocks"] if b["type"] == "input"}
    assert set(fields) == {views.QUESTION_BLOCK, views.ANSWER_BLOCK, views.URL_BLOCK}
    assert fields[views.QUESTION_BLOCK]["element"]["initial_value"] in VPN

    # a missing answer and a bad link are shown beside the fields; nothing is recorded
    bad = admin_bot.send(signed_action(view_submission(modal, {"question": "How do I reset my VPN password?",
                                                               "answer": " ", "url": "intranet/vpn"}, user=ADMIN)))
    assert bad.status_code == 200
    assert bad.json() == {"response_action": "errors",
                          "errors": {"answer": "Please write the answer.",
                                     "url": "The link must be a web address: http:// or https:// and a host name."}}
    assert decisions(store) == []

    before = len(slack_api.calls_to("views.publish"))
    good = view_submission(modal, {"question": "How do I reset my VPN password?",
                                   "answer": "Use the self-service portal.", "url": "https://it.example.com/vpn"},
                           user=ADMIN)
    assert admin_bot.send(signed_action(good)).status_code == 200
    after = json.dumps(next_home(admin_bot, slack_api, before), ensure_ascii=False)
    [decision] = decisions(store)
    assert (decision.action, decision.question, decision.answer, decision.url, decision.cluster) == (
        NEW, "How do I reset my VPN password?", "Use the self-service portal.", "https://it.example.com/vpn", vpn)
    assert set(decision.texts) == set(VPN) and "New FAQ drafted" in after


def test_review_payloads_in_a_non_admins_name_are_refused_and_logged(
        admin_bot: RunningBot, slack_api: SlackAPIStub, store: Store, caplog: pytest.LogCaptureFixture) -> None:
    home = open_home(admin_bot, slack_api, ADMIN)
    vpn = cluster_with(home, VPN[0])
    controls = elements(home["blocks"])
    modal = views.new_faq_modal(vpn, VPN[0])
    publishes = len(slack_api.calls_to("views.publish"))
    forged = [
        home_action(controls[views.action_id(views.REVIEW_DISMISS, vpn)], home, user=USER),
        home_action(controls[views.action_id(views.REVIEW_ACCEPT, vpn)], home, user=USER),
        home_action(controls[views.action_id(views.REVIEW_NEW, vpn)], home, user=USER),
        view_submission(modal, {"question": "Q?", "answer": "A.", "url": ""}, user=USER),
        home_action(controls[views.action_id(views.REVIEW_DISMISS, vpn)], home, user=""),
    ]
    with caplog.at_level(logging.WARNING, logger="bot.slack.review_actions"):
        for payload in forged:
            response = admin_bot.send(signed_action(payload))
            assert response.status_code == 200 and not response.content  # acknowledged, nothing else
        admin_bot.settle()
    assert decisions(store) == []
    assert slack_api.calls_to("views.open") == []
    assert len(slack_api.calls_to("views.publish")) == publishes  # nobody's Home was changed
    refusals = [r.getMessage() for r in caplog.records if "refused" in r.getMessage()]
    assert len(refusals) == len(forged)
    assert all(USER in message for message in refusals[:4]) and "not in FAQ_ADMINS" in refusals[0]


def test_a_replayed_admin_click_decides_once_and_a_stale_one_is_rejected(
        admin_bot: RunningBot, slack_api: SlackAPIStub, store: Store) -> None:
    home = open_home(admin_bot, slack_api, ADMIN)
    vpn = cluster_with(home, VPN[0])
    body = json.dumps(home_action(elements(home["blocks"])[views.action_id(views.REVIEW_DISMISS, vpn)], home,
                                  user=ADMIN))
    from urllib.parse import urlencode

    form = urlencode({"payload": body})
    before = len(slack_api.calls_to("views.publish"))
    for _ in range(2):  # the same signed request twice (Slack's retry, or a replay within 5 minutes)
        assert admin_bot.send(sign(form, content_type="application/x-www-form-urlencoded")).status_code == 200
    next_home(admin_bot, slack_api, before)
    assert [d.action for d in decisions(store)] == [DISMISS]
    import time

    stale = sign(form, content_type="application/x-www-form-urlencoded", timestamp=int(time.time()) - 600)
    assert admin_bot.send(stale).status_code == 401
    assert len(decisions(store)) == 1


def test_a_second_admin_deciding_the_same_cluster_is_told_it_is_gone(
        settings: SlackSettings, engine: FAQEngine, store: Store, slack_api: SlackAPIStub) -> None:
    seed_misses(store, engine)
    other = "UADMIN002"
    running = start_bot(replace(settings, faq_admins=(ADMIN, other)), engine, store)
    try:
        home = open_home(running, slack_api, ADMIN)
        vpn = cluster_with(home, VPN[0])
        dismiss = elements(home["blocks"])[views.action_id(views.REVIEW_DISMISS, vpn)]
        for user in (ADMIN, other):
            before = len(slack_api.calls_to("views.publish"))
            running.send(signed_action(home_action(dismiss, home, user=user)))
            after = json.dumps(next_home(running, slack_api, before), ensure_ascii=False)
        assert len(decisions(store)) == 1 and "no longer in the review" in after
    finally:
        stop_bot(running)


def test_malformed_review_payloads_get_a_400_not_a_traceback(
        admin_bot: RunningBot, slack_api: SlackAPIStub, store: Store, caplog: pytest.LogCaptureFixture) -> None:
    home = open_home(admin_bot, slack_api, ADMIN)
    vpn = cluster_with(home, VPN[0])
    dismiss = elements(home["blocks"])[views.action_id(views.REVIEW_DISMISS, vpn)]
    no_view = home_action(dismiss, home, user=ADMIN)
    del no_view["view"]
    bad_state = home_action(dismiss, home, user=ADMIN)
    bad_state["view"]["state"] = {"values": [1, 2]}
    modal = views.new_faq_modal(vpn, VPN[0])
    no_callback = view_submission(modal, {"question": "Q?", "answer": "A."}, user=ADMIN)
    del no_callback["view"]["callback_id"]
    odd_fields = view_submission(modal, {"question": "Q?", "answer": "A."}, user=ADMIN)
    odd_fields["view"]["state"]["values"]["answer"] = "A."
    odd_metadata = view_submission(modal, {"question": "Q?", "answer": "A."}, user=ADMIN)
    odd_metadata["view"]["private_metadata"] = {"c": vpn}
    for payload in (no_view, bad_state, no_callback, odd_fields, odd_metadata):
        assert admin_bot.send(signed_action(payload)).status_code == 400
    # a submission whose cluster is not ours is acknowledged and dropped
    lost = view_submission({**modal, "private_metadata": "not json"}, {"question": "Q?", "answer": "A."}, user=ADMIN)
    assert admin_bot.send(signed_action(lost)).status_code == 200
    admin_bot.settle()
    assert decisions(store) == []
    assert not [r for r in caplog.records if r.exc_info]


def test_the_review_over_socket_mode(settings: SlackSettings, engine: FAQEngine, store: Store, slack_api: SlackAPIStub,
                                     socket_server: SocketModeStub) -> None:
    """The default transport: the modal's field errors ride on the envelope's
    ack, an admin's submission is decided, a non-admin's click is dropped."""
    seed_misses(store, engine)
    running = connect_socket_bot(replace(settings, faq_admins=(ADMIN,)), engine, store, slack_api, socket_server)
    try:
        socket_server.wait_acks(socket_server.send("events_api", home_opened(user=ADMIN)))
        [publish] = slack_api.wait_calls("views.publish")
        home = publish.params["view"]
        vpn = cluster_with(home, VPN[0])
        modal = views.new_faq_modal(vpn, VPN[0])
        [ack] = socket_server.wait_acks(socket_server.send(
            "interactive", view_submission(modal, {"question": "Q?", "answer": ""}, user=ADMIN)))
        assert ack["payload"] == {"response_action": "errors", "errors": {"answer": "Please write the answer."}}
        forged = home_action(elements(home["blocks"])[views.action_id(views.REVIEW_DISMISS, vpn)], home, user=USER)
        socket_server.wait_acks(socket_server.send("interactive", forged))
        socket_server.wait_acks(socket_server.send(
            "interactive", view_submission(modal, {"question": "How do I reset my VPN password?",
                                                   "answer": "Use the portal."}, user=ADMIN)))
        slack_api.wait_calls("views.publish", count=2)
        running.settle()
    finally:
        close_socket_bot(running)
    [decision] = decisions(store)
    assert (decision.action, decision.decided_by, decision.url) == (NEW, f"slack:{ADMIN}", None)


@pytest.mark.parametrize(("url", "refused"), [("https://", True), ("javascript:alert(1)", True),
                                              ("https://exa mple.com", True), ("https://it.example.com/vpn", False)])
def test_the_modal_takes_the_links_an_faq_source_takes(url: str, refused: bool) -> None:
    fields = {views.QUESTION_BLOCK: "Q?", views.ANSWER_BLOCK: "A.", views.URL_BLOCK: url}
    assert (views.URL_BLOCK in views.modal_errors(fields)) is refused


def test_a_cluster_one_person_asked_reads_in_the_singular(store: Store, engine: FAQEngine) -> None:
    answerer = Answerer(engine, observers=[recorder(store, SlackSettings(), engine)])
    for i, text in enumerate(VPN):
        answerer.reply(text, bot_user_id=None, asked=Asked(platform="slack", channel_kind="dm", workspace="T1",
                                                           user_id="U1", key=f"one:{i}"))
    blocks = views.review_section(review(store, engine), engine.index, days=30)
    shown = json.dumps([block.to_dict() for block in blocks], ensure_ascii=False)
    assert "*1. 1 person asked 3x*" in shown and "1 people" not in shown
