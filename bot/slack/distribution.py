"""Distribution mode at run time: which installation each piece of work acts for.

In token mode one bot token does everything. Installed into many workspaces
(and Enterprise Grid orgs), the bot must post into each with that
installation's own token. Bolt finds it for the request it acknowledges
(``authorize``, from the installation store); the answering happens later on
the workers, from the intake, so the installation travels with the work:

1. :func:`remember_installation` (a Bolt middleware) notes which installation
   the request came through (:class:`InstallRef`: enterprise, team, org-wide
   or not), and the listener records it in the intake row with the work;
2. the worker runs the work :meth:`InstallationClient.acting_for` that
   installation: every Web API call the work makes goes out with its bot
   token (:class:`TokenSource` finds it, refreshing a rotating token that is
   about to expire), and a call made for no installation goes out with none,
   which Slack refuses (``not_authed``).

An installation removed in between (the app was uninstalled) leaves the work
set aside with one log line (:class:`NotInstalled`).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

from slack_bolt import App, BoltContext, BoltResponse
from slack_sdk import WebClient
from slack_sdk.oauth.installation_store import InstallationStore
from slack_sdk.oauth.token_rotation import TokenRotator

from bot.slack.web_api import ObservedWebClient
from bot.tenancy import Tenant

log = logging.getLogger(__name__)

INSTALL_FIELD = "installation"  # where the intake payload carries the InstallRef


@dataclass(frozen=True)
class InstallRef:
    """One installation: a workspace (``team_id``), a workspace of an
    Enterprise Grid org, or a whole org (``is_enterprise_install``, no team)."""

    enterprise_id: str | None
    team_id: str | None
    is_enterprise_install: bool = False

    def as_dict(self) -> dict[str, Any]:
        """For the intake's JSON payload."""
        return {"enterprise_id": self.enterprise_id, "team_id": self.team_id,
                "is_enterprise_install": self.is_enterprise_install}

    @classmethod
    def from_dict(cls, raw: Any) -> InstallRef | None:
        """The ref :meth:`as_dict` wrote, or ``None`` for anything else."""
        if not isinstance(raw, dict):
            return None
        enterprise, team = raw.get("enterprise_id"), raw.get("team_id")
        if not all(value is None or isinstance(value, str) for value in (enterprise, team)):
            return None
        if enterprise is None and team is None:
            return None
        return cls(enterprise, team, bool(raw.get("is_enterprise_install")))

    @classmethod
    def of(cls, context: BoltContext) -> InstallRef | None:
        """The installation Bolt authorised ``context``'s request through."""
        org_wide = bool(context.is_enterprise_install)
        team = None if org_wide else context.team_id
        if context.enterprise_id is None and team is None:
            return None
        return cls(context.enterprise_id, team, org_wide)

    def tenant(self) -> Tenant:
        """Whose stored data this installation's is: the workspace, or for an
        org-wide install the org (its ``workspace`` is then the org's id too)."""
        return Tenant.slack(self.team_id or str(self.enterprise_id), self.enterprise_id)

    def __str__(self) -> str:
        if self.is_enterprise_install:
            return f"org {self.enterprise_id}"
        return f"workspace {self.team_id}" + (f" of org {self.enterprise_id}" if self.enterprise_id else "")


class NotInstalled(ValueError):
    """No installation (any more) for the work: the app was uninstalled or its token revoked."""


_arriving: ContextVar[InstallRef | None] = ContextVar("faq_bot_arriving_installation", default=None)
_acting: ContextVar[str | None] = ContextVar("faq_bot_acting_token", default=None)


def remember_installation(context: BoltContext, next: Callable[[], BoltResponse]) -> BoltResponse:
    """Bolt middleware: note the installation of the request being acknowledged
    (set on every request, so nothing of an earlier one lingers)."""
    _arriving.set(InstallRef.of(context))
    return next()


def arriving() -> InstallRef | None:
    """The installation of the request being acknowledged on this thread, if any."""
    return _arriving.get()


class TokenSource:
    """The bot token of an installation, from the installation store; a
    rotating token (one with a refresh token) that expires within
    ``rotation_minutes`` is refreshed first and the new one stored, as Bolt's
    ``authorize`` does for the requests it acknowledges."""

    def __init__(self, store: InstallationStore, *, client_id: str, client_secret: str, api_client: WebClient,
                 rotation_minutes: int = 120) -> None:
        self.store = store
        self.rotation_minutes = rotation_minutes
        self._rotator = TokenRotator(client_id=client_id, client_secret=client_secret, client=api_client)

    def token(self, ref: InstallRef) -> str:
        """``ref``'s bot token. Raises :class:`NotInstalled`, or slack_sdk's
        ``SlackTokenRotationError`` when Slack refuses the refresh."""
        bot = self.store.find_bot(enterprise_id=ref.enterprise_id, team_id=ref.team_id,
                                  is_enterprise_install=ref.is_enterprise_install)
        if bot is None or not bot.bot_token:
            raise NotInstalled(f"faq-bot is not installed in {ref}")
        if bot.bot_refresh_token:
            refreshed = self._rotator.perform_bot_token_rotation(bot=bot,
                                                                 minutes_before_expiration=self.rotation_minutes)
            if refreshed is not None:
                self.store.save_bot(refreshed)
                log.info("refreshed the bot token of %s", ref)
                return str(refreshed.bot_token)
        return bot.bot_token


class InstallationClient(ObservedWebClient):
    """The Web API client of distribution mode: its token is that of the
    installation the current thread acts for (:meth:`acting_for`), or none."""

    @property
    def token(self) -> str | None:
        return _acting.get()

    @token.setter
    def token(self, value: str | None) -> None:
        """slack_sdk's constructor sets a token; this client has none of its own."""

    @contextmanager
    def acting_for(self, token: str) -> Iterator[None]:
        """Calls made on this thread inside the block go out with ``token``."""
        reset = _acting.set(token)
        try:
            yield
        finally:
            _acting.reset(reset)


def acting_for_payload(client: InstallationClient, tokens: TokenSource,
                       run: Callable[[Any], None]) -> Callable[[Any], None]:
    """``run`` (the workers' step), acting for the installation each intake row names."""

    def run_as_installed(work: Any) -> None:
        ref = InstallRef.from_dict(work.payload.get(INSTALL_FIELD))
        if ref is None:
            raise NotInstalled(f"{work.kind} {work.key} names no installation to answer through")
        with client.acting_for(tokens.token(ref)):
            run(work)

    return run_as_installed


def register_uninstall(app: App, store: InstallationStore, removed: Callable[[InstallRef, str], None]) -> None:
    """``app_uninstalled`` and ``tokens_revoked``: delete the installation
    (as Bolt's own revocation listeners do), then tell ``removed`` the
    installation and why (it schedules that workspace's data for deletion).
    Both run before the acknowledgement:
    if the database fails, Slack delivers the event again. Register before
    any catch-all listener."""

    def uninstalled(ack: Any, context: BoltContext) -> None:
        ref = InstallRef(context.enterprise_id, None if context.is_enterprise_install else context.team_id,
                         bool(context.is_enterprise_install))
        store.delete_all(enterprise_id=ref.enterprise_id, team_id=ref.team_id)
        log.info("faq-bot was uninstalled from %s; its installation is deleted", ref)
        removed(ref, "app_uninstalled")
        ack()

    def revoked(ack: Any, event: dict[str, Any], context: BoltContext) -> None:
        ref = InstallRef(context.enterprise_id, None if context.is_enterprise_install else context.team_id,
                         bool(context.is_enterprise_install))
        raw = event.get("tokens")
        tokens: dict[str, Any] = raw if isinstance(raw, dict) else {}
        for user in tokens.get("oauth") or []:
            if isinstance(user, str):
                store.delete_installation(enterprise_id=ref.enterprise_id, team_id=ref.team_id, user_id=user)
        if tokens.get("bot"):
            store.delete_bot(enterprise_id=ref.enterprise_id, team_id=ref.team_id)
            store.delete_installation(enterprise_id=ref.enterprise_id, team_id=ref.team_id)
            log.info("the bot token of %s was revoked; its installation is deleted", ref)
            removed(ref, "tokens_revoked")
        ack()

    app.event("app_uninstalled")(uninstalled)
    app.event("tokens_revoked")(revoked)


__all__ = ["INSTALL_FIELD", "InstallRef", "InstallationClient", "NotInstalled", "TokenSource",
           "acting_for_payload", "arriving", "register_uninstall", "remember_installation"]
