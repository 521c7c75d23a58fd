"""Distribution mode: faq-bot installed into several workspaces (and an
Enterprise Grid org) through Bolt's real OAuth flow, over real sockets.

A browser session (``requests``) signed in to one workspace of the Slack
stand-in opens the bot's ``/slack/install``, is sent to the stand-in's
consent page and back to ``/slack/oauth_redirect`` with a code, which the bot
exchanges at the stand-in's ``oauth.v2.access``. Then each workspace asks a
question and the answer must be posted with that workspace's own token;
uninstalling removes the installation; a rotating token that expires while
the bot runs is refreshed; the tokens are sealed in the database.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import requests
import slack_sdk.oauth.token_rotation.rotator as rotator
from cryptography.fernet import Fernet
from sqlalchemy import text

from bot.slack.blocks import HELPFUL
from bot.slack.http_app import EVENTS_PATH
from bot.slack.installations import BOT_SCOPES, REDIRECT_PATH, SealedInstallationStore
from bot.slack.settings import SlackSettings, check_slack_settings
from bot.store.database import Store
from bot.store.erasure import erasures
from bot.store.sealing import Sealer
from bot.tenancy import Tenant
from faq_core.engine import FAQEngine
from faq_core.errors import ConfigError
from tests.slack.conftest import start_bot, stop_bot
from tests.slack.test_main import BotProcess, run_bot
from tests.stubs.slack_api import SlackAPIStub
from tests.stubs.slack_oauth import CLIENT_ID, CLIENT_SECRET, Workspace
from tests.stubs.slack_payloads import (
    SIGNING_SECRET,
    SignedRequest,
    button_click,
    buttons,
    event_callback,
    message_ts,
    signed_action,
    signed_event,
)

ACME = Workspace("T0ACME001", "Acme")
GLOBEX = Workspace("T0GLOBEX1", "Globex")
INITECH = Workspace(None, "Initech", enterprise_id="E0INITECH", org_wide=True)  # an org-wide install
ROTATING = Workspace("T0ROTATE1", "Umbrella", rotating=True)
# a workspace of the Initech org, where its people ask
INITECH_TEAM = "T0INITWS1"
QUESTION = "How can Medicare help me?"
KEY = Fernet.generate_key().decode()
# distribution mode's settings alone (no database), for the start-up checks
DISTRIBUTION = SlackSettings(slack_client_id=CLIENT_ID, slack_client_secret=CLIENT_SECRET,
                             slack_signing_secret=SIGNING_SECRET, faq_token_keys=KEY)


def team_in_events(workspace: Workspace) -> str:
    """The workspace events come from (for an org-wide install: one of the org's)."""
    return workspace.team_id or INITECH_TEAM


def mention_in(workspace: Workspace, bot_user_id: str, channel: str, question: str = QUESTION) -> dict[str, Any]:
    """``@faq-bot question`` in ``channel`` of ``workspace``, as Slack sends it to this app."""
    ts = message_ts()
    team = team_in_events(workspace)
    event = {"type": "app_mention", "user": "U0ASKER01", "text": f"<@{bot_user_id}> {question}", "ts": ts,
             "channel": channel, "event_ts": ts, "team": team}
    payload = event_callback(event)
    payload.update(team_id=team, enterprise_id=workspace.enterprise_id,
                   authorizations=[{"enterprise_id": workspace.enterprise_id,
                                    "team_id": None if workspace.org_wide else workspace.team_id,
                                    "user_id": bot_user_id, "is_bot": True,
                                    "is_enterprise_install": workspace.org_wide}])
    return payload


def uninstalled_from(workspace: Workspace) -> dict[str, Any]:
    payload = event_callback({"type": "app_uninstalled"})
    payload.update(team_id=team_in_events(workspace), enterprise_id=workspace.enterprise_id,
                   authorizations=[{"enterprise_id": workspace.enterprise_id,
                                    "team_id": None if workspace.org_wide else workspace.team_id,
                                    "user_id": "UBOT", "is_bot": True,
                                    "is_enterprise_install": workspace.org_wide}])
    return payload


@pytest.fixture()
def dist_settings(slack_api: SlackAPIStub, any_db_url: str) -> SlackSettings:
    """Distribution mode pointed at the stand-in, on SQLite and PostgreSQL."""
    return replace(DISTRIBUTION, slack_api_url=slack_api.base_url, database_url=any_db_url)


@pytest.fixture()
def dist_store(any_db_url: str) -> Iterator[Store]:
    store = Store(any_db_url)
    yield store
    store.close()


class Distributed:
    """The bot in distribution mode, the Slack stand-in, and the bot's database."""

    def __init__(self, url: str, slack_api: SlackAPIStub, store: Store) -> None:
        self.url, self.slack, self.store = url, slack_api, store

    def send(self, request: SignedRequest) -> requests.Response:
        """POST a signed request as Slack would."""
        return requests.post(self.url + EVENTS_PATH, data=request.body, headers=request.headers, timeout=10)

    def install(self, workspace: Workspace) -> requests.Response:
        """Someone signed in to ``workspace`` installs the app, following the
        redirects as a browser does. Bolt's state cookie is ``Secure`` (the
        bot is served behind TLS), so it is carried by hand over plain HTTP."""
        self.slack.oauth.add(workspace)
        start = requests.get(self.url + "/slack/install", allow_redirects=False, timeout=20)
        assert start.status_code == 302, start.text
        state_cookie = start.headers["set-cookie"].split(";")[0]
        consent = requests.get(start.headers["location"], cookies={"slack_workspace": workspace.key},
                               allow_redirects=False, timeout=20)
        assert consent.status_code == 302, consent.text
        assert consent.headers["location"].startswith(f"{self.slack.oauth.redirect_url}?code=")
        return requests.get(consent.headers["location"], headers={"cookie": state_cookie}, timeout=20)

    def bot_user(self, workspace: Workspace) -> str:
        return self.slack.oauth.grant(self.slack.oauth.tokens_of(workspace)[-1]).bot_user_id  # type: ignore[union-attr]

    def ask(self, workspace: Workspace, channel: str) -> requests.Response:
        """A mention in ``channel`` of ``workspace``; returns Slack's acknowledgement."""
        return self.send(signed_event(mention_in(workspace, self.bot_user(workspace), channel)))

    def answer_in(self, channel: str) -> Any:
        """The bot's answer posted in ``channel``."""
        self.slack.wait_for(lambda calls: any(c.method == "chat.postMessage" and c.params.get("channel") == channel
                                              and c.ok for c in calls))
        return next(c for c in self.slack.calls_to("chat.postMessage") if c.params.get("channel") == channel)

    def rows(self, table: str) -> list[dict[str, Any]]:
        with self.store.engine.connect() as connection:
            return [dict(r) for r in connection.execute(text(f"SELECT * FROM {table}")).mappings()]


@pytest.fixture()
def distributed(dist_settings: SlackSettings, engine: FAQEngine, dist_store: Store,
                slack_api: SlackAPIStub) -> Iterator[Distributed]:
    bot = start_bot(dist_settings, engine, dist_store)
    slack_api.oauth.redirect_url = bot.url + REDIRECT_PATH  # the app's Redirect URL, as configured at Slack
    slack_api.oauth.scopes = BOT_SCOPES
    yield Distributed(bot.url, slack_api, dist_store)
    stop_bot(bot)


def test_two_workspaces_and_an_org_install_and_each_is_answered_with_its_own_token(
    distributed: Distributed, slack_api: SlackAPIStub
) -> None:
    for workspace in (ACME, GLOBEX, INITECH):
        page = distributed.install(workspace)
        assert page.status_code == 200 and "Thank you!" in page.text, page.text
    channels = {ACME: "C0ACME0001", GLOBEX: "C0GLOBEX01", INITECH: "C0INITECH1"}
    for workspace, channel in channels.items():
        assert distributed.ask(workspace, channel).status_code == 200
    for workspace, channel in channels.items():
        posted = distributed.answer_in(channel)
        assert posted.ok and "Medicare" in str(posted.params.get("text"))
        assert slack_api.team_of(posted) == workspace.key  # that installation's own token, no other
        token = posted.headers["authorization"].removeprefix("Bearer ")
        assert token == slack_api.oauth.tokens_of(workspace)[-1]
    # the org-wide install is one installation for the whole org, with no workspace of its own
    bots = distributed.rows("slack_bots")
    assert {(b["enterprise_id"], b["team_id"], bool(b["is_enterprise_install"])) for b in bots} == {
        (None, ACME.team_id, False), (None, GLOBEX.team_id, False), (INITECH.enterprise_id, None, True)}


def test_an_install_whose_state_was_not_issued_here_is_refused(distributed: Distributed) -> None:
    distributed.slack.oauth.add(ACME)
    forged = requests.get(distributed.url + REDIRECT_PATH, params={"code": "1.abc", "state": "forged"},
                          timeout=10)
    assert forged.status_code == 400
    assert distributed.rows("slack_bots") == []


def test_an_uninstalled_workspace_loses_its_installation_and_its_data_is_scheduled(
    distributed: Distributed, slack_api: SlackAPIStub, dist_settings: SlackSettings
) -> None:
    for workspace in (ACME, GLOBEX, INITECH):
        assert distributed.install(workspace).status_code == 200
    for workspace in (GLOBEX, INITECH):
        slack_api.oauth.revoke(workspace)
        assert distributed.send(signed_event(uninstalled_from(workspace))).status_code == 200
    assert {(row["enterprise_id"], row["team_id"]) for row in distributed.rows("slack_bots")} == {
        (None, ACME.team_id)}
    assert {row["team_id"] for row in distributed.rows("slack_installations")} == {ACME.team_id}
    # their stored questions and votes go after the retention period: the workspace, and the whole org
    scheduled = erasures(distributed.store)
    assert [(e.tenant, e.whole_enterprise, e.reason) for e in scheduled] == [
        (Tenant.slack(str(GLOBEX.team_id)), False, "app_uninstalled"),
        (Tenant.slack(str(INITECH.enterprise_id), INITECH.enterprise_id), True, "app_uninstalled")]
    retention = timedelta(days=dist_settings.feedback_retention_days)
    assert all(e.due_at - datetime.now(UTC) > retention - timedelta(hours=1) for e in scheduled)
    # a mention from the uninstalled workspace is refused by Bolt (no installation), never answered;
    # the workspace that stayed is still answered, with its own token
    assert distributed.ask(GLOBEX, "C0GLOBEX02").status_code == 200
    assert distributed.ask(ACME, "C0ACME0002").status_code == 200
    assert slack_api.team_of(distributed.answer_in("C0ACME0002")) == ACME.key
    assert not [c for c in slack_api.calls if c.params.get("channel") == "C0GLOBEX02"]
    assert {slack_api.team_of(c) for c in slack_api.calls_to("chat.postMessage")} == {ACME.key}
    # installing again within the retention period calls the deletion off
    assert distributed.install(GLOBEX).status_code == 200
    assert [e.tenant for e in erasures(distributed.store)] == [
        Tenant.slack(str(INITECH.enterprise_id), INITECH.enterprise_id)]


def test_a_rotating_token_that_expires_while_the_bot_runs_is_refreshed(
    distributed: Distributed, slack_api: SlackAPIStub, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert distributed.install(ROTATING).status_code == 200
    assert distributed.ask(ROTATING, "C0ROTATE01").status_code == 200
    first = distributed.answer_in("C0ROTATE01").headers["authorization"].removeprefix("Bearer ")
    assert first == slack_api.oauth.tokens_of(ROTATING)[0]
    # 13 hours later, for Slack and for the bot alike: the 12-hour token has expired
    later = 13 * 3600
    slack_api.oauth.offset = later
    monkeypatch.setattr(rotator, "time", lambda: time.time() + later)
    assert slack_api.oauth.refusal(first) == {"ok": False, "error": "token_expired"}
    assert distributed.ask(ROTATING, "C0ROTATE02").status_code == 200
    posted = distributed.answer_in("C0ROTATE02")
    second = posted.headers["authorization"].removeprefix("Bearer ")
    assert posted.ok and second != first and second in slack_api.oauth.tokens_of(ROTATING)
    refreshes = [c for c in slack_api.calls_to("oauth.v2.access") if c.params.get("grant_type") == "refresh_token"]
    assert refreshes and all(c.ok for c in refreshes)


def test_tokens_are_sealed_at_rest(distributed: Distributed, slack_api: SlackAPIStub) -> None:
    assert distributed.install(ROTATING).status_code == 200
    token = slack_api.oauth.tokens_of(ROTATING)[-1]
    refresh = slack_api.oauth.grant(token).refresh_token  # type: ignore[union-attr]
    for table in ("slack_bots", "slack_installations"):
        (row,) = distributed.rows(table)
        assert row["bot_token"] != token and "xoxb-" not in row["bot_token"]
        assert row["bot_refresh_token"] != refresh and "xoxe-" not in row["bot_refresh_token"]
        assert Sealer(KEY).open(row["bot_token"]) == token
        assert Sealer(KEY).open(row["bot_refresh_token"]) == refresh


def test_a_new_key_first_reseals_the_stored_tokens_at_start_up(
    dist_settings: SlackSettings, engine: FAQEngine, dist_store: Store, slack_api: SlackAPIStub
) -> None:
    old = Sealer(KEY)
    installs = SealedInstallationStore(CLIENT_ID, dist_store.engine, old)
    from slack_sdk.oauth.installation_store import Installation

    installs.save(Installation(app_id="A1", team_id=ACME.team_id, bot_token="xoxb-9-sealedbyold", user_id="U1",
                               bot_user_id="UBOT9"))
    new_key = Fernet.generate_key().decode()
    bot = start_bot(replace(dist_settings, faq_token_keys=f"{new_key},{KEY}"), engine, dist_store)
    stop_bot(bot)
    with dist_store.engine.connect() as connection:
        sealed = [r[0] for r in connection.execute(text("SELECT bot_token FROM slack_bots"))]
    assert [Sealer(new_key).open(value) for value in sealed] == ["xoxb-9-sealedbyold"]  # the new key alone opens it
    # and with the old key dropped, the bot still finds the token
    dropped = SealedInstallationStore(CLIENT_ID, dist_store.engine, Sealer(new_key))
    assert dropped.find_bot(enterprise_id=None, team_id=ACME.team_id).bot_token == "xoxb-9-sealedbyold"  # type: ignore[union-attr]


def test_a_key_that_cannot_open_the_stored_tokens_stops_start_up_with_one_line(
    dist_settings: SlackSettings, engine: FAQEngine, dist_store: Store
) -> None:
    installs = SealedInstallationStore(CLIENT_ID, dist_store.engine, Sealer(KEY))
    from slack_sdk.oauth.installation_store import Installation

    installs.save(Installation(app_id="A1", team_id=ACME.team_id, bot_token="xoxb-9-secret", user_id="U1"))
    with pytest.raises(ConfigError) as stopped:
        start_bot(replace(dist_settings, faq_token_keys=Fernet.generate_key().decode()), engine, dist_store)
    assert str(stopped.value).startswith("FAQ_TOKEN_KEYS cannot open the stored Slack tokens")
    assert "\n" not in str(stopped.value)


@pytest.mark.parametrize(("keys", "reason"), [
    (None, "FAQ_TOKEN_KEYS is not set."),
    ("c2hvcnQ=", "FAQ_TOKEN_KEYS does not look right: key 1 of 1 is 5 bytes, not the 32 of a Fernet key."),
    (f"{KEY},", "FAQ_TOKEN_KEYS does not look right: key 2 of 2 is empty (a stray comma?)."),
    ("é" * 44, "FAQ_TOKEN_KEYS does not look right: key 1 of 1 is not URL-safe base64."),
])
def test_a_missing_or_malformed_key_is_one_line_that_never_shows_it(keys: str | None, reason: str) -> None:
    with pytest.raises(ConfigError) as stopped:
        check_slack_settings(replace(DISTRIBUTION, faq_token_keys=keys))
    assert str(stopped.value).startswith(reason) and "\n" not in str(stopped.value)
    assert not keys or keys.split(",")[0] not in str(stopped.value)


@pytest.mark.parametrize(("changes", "start"), [
    ({"slack_bot_token": "xoxb-1-2-abc"}, "SLACK_BOT_TOKEN and SLACK_CLIENT_ID/SLACK_CLIENT_SECRET are both set"),
    ({"slack_app_token": "xapp-1-A1-2-abc"}, "SLACK_APP_TOKEN and SLACK_CLIENT_ID/SLACK_CLIENT_SECRET are both set"),
    ({"slack_client_secret": None}, "SLACK_CLIENT_SECRET is not set."),
    ({"slack_client_id": "abc"}, "SLACK_CLIENT_ID does not look right"),
    ({"slack_signing_secret": None}, "SLACK_SIGNING_SECRET is not set."),
])
def test_settings_of_both_modes_or_half_of_one_are_one_line(changes: dict[str, Any], start: str) -> None:
    with pytest.raises(ConfigError) as stopped:
        check_slack_settings(replace(DISTRIBUTION, **changes))
    assert str(stopped.value).startswith(start) and "\n" not in str(stopped.value)


def test_token_mode_stays_the_default() -> None:
    token_mode = replace(DISTRIBUTION, slack_client_id=None, slack_client_secret=None, faq_token_keys=None,
                         slack_bot_token="xoxb-1-2-abc")
    config = check_slack_settings(token_mode)
    assert not config.distribution and config.bot_token == "xoxb-1-2-abc"
    assert check_slack_settings(DISTRIBUTION).distribution


def test_python_m_bot_serves_the_install_flow_and_never_logs_a_token(tmp_path: Path, slack_api: SlackAPIStub) -> None:
    bot = BotProcess(tmp_path, "--http", "--host", "127.0.0.1", "--port", "0", SLACK_CLIENT_ID=CLIENT_ID,
                     SLACK_CLIENT_SECRET=CLIENT_SECRET, SLACK_SIGNING_SECRET=SIGNING_SECRET,
                     SLACK_API_URL=slack_api.base_url, FAQ_TOKEN_KEYS=KEY)
    try:
        port = int(bot.wait_line(r"listening on http://127\.0\.0\.1:(\d+)/slack/events").group(1))
        url = f"http://127.0.0.1:{port}"
        slack_api.oauth.redirect_url, slack_api.oauth.scopes = url + REDIRECT_PATH, BOT_SCOPES
        installed = Distributed(url, slack_api, Store(f"sqlite:///{tmp_path / 'bot.db'}"))
        assert installed.install(ACME).status_code == 200
        assert installed.ask(ACME, "C0ACME0009").status_code == 200
        assert slack_api.team_of(installed.answer_in("C0ACME0009")) == ACME.key
        assert requests.get(url + "/readyz", timeout=10).status_code == 200
        installed.store.close()
        assert bot.stop() == 0
    finally:
        if bot.process.poll() is None:
            bot.process.kill()
            bot.process.wait()
    log = "".join(bot.lines)
    for secret in (*slack_api.oauth.tokens_of(ACME), CLIENT_SECRET, KEY, SIGNING_SECRET):
        assert secret not in log


@pytest.mark.parametrize(("env", "line"), [
    ({"FAQ_TOKEN_KEYS": "c2hvcnQ="}, "faq-bot: FAQ_TOKEN_KEYS does not look right: key 1 of 1 is 5 bytes"),
    ({"FAQ_TOKEN_KEYS": ""}, "faq-bot: FAQ_TOKEN_KEYS is not set."),
    ({"SLACK_BOT_TOKEN": "xoxb-1-2-abc"}, "faq-bot: SLACK_BOT_TOKEN and SLACK_CLIENT_ID/SLACK_CLIENT_SECRET are both"),
], ids=["malformed-key", "no-key", "both-modes"])
def test_python_m_bot_stops_with_one_line_on_a_bad_key_or_both_modes(
    tmp_path: Path, slack_api: SlackAPIStub, env: dict[str, str], line: str
) -> None:
    settings = {"SLACK_CLIENT_ID": CLIENT_ID, "SLACK_CLIENT_SECRET": CLIENT_SECRET,
                "SLACK_SIGNING_SECRET": SIGNING_SECRET, "SLACK_API_URL": slack_api.base_url, "FAQ_TOKEN_KEYS": KEY}
    result = run_bot(tmp_path, "--http", **{**settings, **env})
    assert result.returncode == 2, result.stderr
    assert result.stderr.splitlines() == [result.stderr.splitlines()[-1]] and result.stderr.startswith(line)
    assert CLIENT_SECRET not in result.stderr and "c2hvcnQ=" not in result.stderr


def test_a_vote_in_each_workspace_updates_the_answer_with_that_workspaces_token(
    distributed: Distributed, slack_api: SlackAPIStub
) -> None:
    for workspace, channel in ((ACME, "C0ACME0003"), (GLOBEX, "C0GLOBEX03")):
        assert distributed.install(workspace).status_code == 200
        assert distributed.ask(workspace, channel).status_code == 200
        answer = distributed.answer_in(channel)
        click = button_click(buttons(answer.params["blocks"])[HELPFUL], response_url=slack_api.response_url(),
                             channel=channel, message=answer.response["message"])
        click["team"] = {"id": workspace.team_id, "domain": workspace.name.lower()}
        click["user"]["team_id"] = workspace.team_id
        assert distributed.send(signed_action(click)).status_code == 200
        slack_api.wait_for(lambda calls, channel=channel: any(
            c.method == "chat.update" and c.params.get("channel") == channel for c in calls))
        [update] = [c for c in slack_api.calls_to("chat.update") if c.params.get("channel") == channel]
        assert update.ok and slack_api.team_of(update) == workspace.key


def test_two_replicas_share_installs_and_finish_each_others_install_flow(
    dist_settings: SlackSettings, engine: FAQEngine, any_db_url: str, slack_api: SlackAPIStub
) -> None:
    stores = [Store(any_db_url), Store(any_db_url)]
    first, second = (start_bot(dist_settings, engine, store) for store in stores)
    try:
        # the install starts on one replica and Slack sends the browser back to the other
        slack_api.oauth.redirect_url, slack_api.oauth.scopes = second.url + REDIRECT_PATH, BOT_SCOPES
        assert Distributed(first.url, slack_api, stores[0]).install(ACME).status_code == 200
        # and either replica answers the workspace with the token the other stored
        for bot, channel in ((first, "C0ACME0004"), (second, "C0ACME0005")):
            replica = Distributed(bot.url, slack_api, stores[0])
            assert replica.ask(ACME, channel).status_code == 200
            assert slack_api.team_of(replica.answer_in(channel)) == ACME.key
    finally:
        for bot in (first, second):
            stop_bot(bot)
        for store in stores:
            store.close()


def test_each_token_key_is_masked_in_the_log_on_its_own() -> None:
    other = Fernet.generate_key().decode()
    assert {KEY, other} <= set(replace(DISTRIBUTION, faq_token_keys=f"{other}, {KEY}").secrets())
    assert CLIENT_SECRET in DISTRIBUTION.secrets() and SIGNING_SECRET in DISTRIBUTION.secrets()


def test_make_run_starts_slack_in_distribution_mode(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from bot.cli.launcher import platforms_to_run

    monkeypatch.chdir(tmp_path)  # no .env here
    for name in ("SLACK_BOT_TOKEN", "SLACK_APP_TOKEN", "DISCORD_BOT_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("SLACK_CLIENT_ID", CLIENT_ID)
    assert platforms_to_run()[0] == ["slack"]
