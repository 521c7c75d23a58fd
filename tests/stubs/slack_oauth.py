"""Slack's side of the OAuth v2 install flow and of token rotation, for the Web API stand-in.

:class:`OAuthDesk` is what :class:`~tests.stubs.slack_api.SlackAPIStub`
consults for:

- ``GET /oauth/v2/authorize`` (the consent page): the person's browser says
  which workspace they are signed in to (a ``slack_workspace`` cookie, as a
  browser carries Slack's session); Slack checks the client id and the
  scopes and sends the browser back to the app's redirect URL with a
  one-time ``code`` and the app's ``state``;
- ``oauth.v2.access``: with the app's client id and secret (HTTP basic auth,
  as slack_sdk sends them), a ``code`` becomes that workspace's (or org's)
  bot token, once; ``grant_type=refresh_token`` gives a rotating token's
  successor. Anything else is ``invalid_client``, ``invalid_code``,
  ``invalid_refresh_token``, as Slack answers;
- the tokens it issued: ``auth.test`` answers with their workspace, an
  expired one is ``token_expired``, a revoked one ``token_revoked``.

Its clock (:attr:`OAuthDesk.offset`) can be moved forward, so a test can let
a rotating token expire without waiting for it.
"""

from __future__ import annotations

import base64
import itertools
import secrets
import threading
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, urlencode

CLIENT_ID = "1111111111.2222222222"
CLIENT_SECRET = "0123456789abcdef0123456789abcdef"
APP_ID = "A0FAQBOT1"


@dataclass(frozen=True)
class Workspace:
    """A place the app can be installed: a workspace (of an org, or not), or a whole org (``org_wide``)."""

    team_id: str | None
    name: str
    enterprise_id: str | None = None
    org_wide: bool = False
    rotating: bool = False  # issue rotating tokens (a refresh token, and an expiry)
    expires_in: int = 12 * 3600

    @property
    def key(self) -> str:
        """What the browser cookie names: the team, or the org for an org-wide install."""
        return str(self.enterprise_id if self.org_wide else self.team_id)


@dataclass
class Grant:
    """A token the desk issued, and for where."""

    token: str
    workspace: Workspace
    bot_user_id: str
    expires_at: float | None = None
    refresh_token: str | None = None
    revoked: bool = False


@dataclass
class OAuthDesk:
    """Slack's OAuth side (see the module docstring)."""

    client_id: str = CLIENT_ID
    client_secret: str = CLIENT_SECRET
    redirect_url: str | None = None  # the app's configured Redirect URL
    scopes: tuple[str, ...] = ()  # the scopes the app asks for must be among these (empty: any)
    offset: float = 0.0  # seconds the desk's clock is ahead of the machine's
    workspaces: dict[str, Workspace] = field(default_factory=dict)
    grants: dict[str, Grant] = field(default_factory=dict)  # by token
    _codes: dict[str, Workspace] = field(default_factory=dict)
    _refresh: dict[str, Grant] = field(default_factory=dict)
    _serial: Any = field(default_factory=lambda: itertools.count(1))
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def now(self) -> float:
        return time.time() + self.offset

    def add(self, workspace: Workspace) -> Workspace:
        """Make ``workspace`` one a person can sign in to and install the app into."""
        self.workspaces[workspace.key] = workspace
        return workspace

    def tokens_of(self, workspace: Workspace) -> list[str]:
        """Every token issued for ``workspace``, oldest first."""
        with self._lock:
            return [g.token for g in self.grants.values() if g.workspace == workspace]

    def grant(self, token: str) -> Grant | None:
        with self._lock:
            return self.grants.get(token)

    def revoke(self, workspace: Workspace) -> None:
        """The workspace uninstalled the app: its tokens stop working."""
        with self._lock:
            for g in self.grants.values():
                if g.workspace == workspace:
                    g.revoked = True

    # -- the consent page -------------------------------------------------------------
    def authorize(self, query: str, cookie: str) -> tuple[int, Any, dict[str, str]]:
        """``GET /oauth/v2/authorize``: a redirect to the app with a code, or an error page."""
        params = dict(parse_qsl(query))
        cookies = dict(part.strip().split("=", 1) for part in cookie.split(";") if "=" in part)
        workspace = self.workspaces.get(cookies.get("slack_workspace", ""))
        if params.get("client_id") != self.client_id:
            return 400, "invalid_client_id", {}
        if workspace is None:
            return 401, "not signed in to a workspace", {}
        asked = [s for s in params.get("scope", "").split(",") if s]
        if not asked or (self.scopes and not set(asked) <= set(self.scopes)):
            return 400, "invalid_scope", {}
        redirect = params.get("redirect_uri") or self.redirect_url
        if not redirect or (self.redirect_url and redirect != self.redirect_url):
            return 400, "bad_redirect_uri", {}
        code = f"{next(self._serial)}.{secrets.token_hex(8)}"
        with self._lock:
            self._codes[code] = workspace
        location = redirect + "?" + urlencode({"code": code, "state": params.get("state", "")})
        return 302, "", {"Location": location}

    # -- oauth.v2.access ----------------------------------------------------------------
    def access(self, params: dict[str, Any], headers: dict[str, str]) -> dict[str, Any]:
        """``oauth.v2.access``: a code for a token, or a refresh token for the next one."""
        client_id, client_secret = params.get("client_id"), params.get("client_secret")
        auth = headers.get("authorization", "")
        if auth.startswith("Basic "):
            client_id, _, client_secret = base64.b64decode(auth[6:]).decode().partition(":")
        if client_id != self.client_id or client_secret != self.client_secret:
            return {"ok": False, "error": "invalid_client"}
        if params.get("grant_type") == "refresh_token":
            with self._lock:  # a refresh token stays good for its successor too, as Slack's do
                old = self._refresh.get(str(params.get("refresh_token")))
            if old is None:
                return {"ok": False, "error": "invalid_refresh_token"}
            return self._issue(old.workspace, old.bot_user_id)
        with self._lock:
            workspace = self._codes.pop(str(params.get("code")), None)
        if workspace is None:
            return {"ok": False, "error": "invalid_code"}
        return self._issue(workspace, f"UBOT{next(self._serial):05d}")

    def _issue(self, workspace: Workspace, bot_user_id: str) -> dict[str, Any]:
        token = f"xoxb-{next(self._serial)}-{secrets.token_hex(12)}"
        grant = Grant(token, workspace, bot_user_id)
        answer: dict[str, Any] = {
            "ok": True, "app_id": APP_ID, "access_token": token, "token_type": "bot",
            "scope": ",".join(self.scopes) or "chat:write", "bot_user_id": bot_user_id,
            "team": None if workspace.org_wide else {"id": workspace.team_id, "name": workspace.name},
            "enterprise": ({"id": workspace.enterprise_id, "name": workspace.name}
                           if workspace.enterprise_id else None),
            "is_enterprise_install": workspace.org_wide,
            "authed_user": {"id": "UINSTALLER"},
        }
        if workspace.rotating:
            grant.refresh_token = f"xoxe-1-{secrets.token_hex(16)}"
            grant.expires_at = self.now() + workspace.expires_in
            answer.update(refresh_token=grant.refresh_token, expires_in=workspace.expires_in)
        with self._lock:
            self.grants[token] = grant
            if grant.refresh_token:
                self._refresh[grant.refresh_token] = grant
        return answer

    # -- tokens at the Web API ----------------------------------------------------------------
    def refusal(self, token: str) -> dict[str, Any] | None:
        """Why the Web API refuses ``token`` (an issued one), or ``None``."""
        grant = self.grant(token)
        if grant is None:
            return {"ok": False, "error": "invalid_auth"}
        if grant.revoked:
            return {"ok": False, "error": "token_revoked"}
        if grant.expires_at is not None and grant.expires_at <= self.now():
            return {"ok": False, "error": "token_expired"}
        return None

    def identity(self, token: str) -> dict[str, Any]:
        """``auth.test`` for an issued token."""
        grant = self.grants[token]
        workspace = grant.workspace
        return {"ok": True, "url": f"https://{workspace.name.lower().replace(' ', '-')}.slack.com/",
                "team": workspace.name, "user": "faqbot", "team_id": workspace.team_id,
                "enterprise_id": workspace.enterprise_id, "user_id": grant.bot_user_id,
                "bot_id": "B" + grant.bot_user_id[1:], "is_enterprise_install": workspace.org_wide}
