"""Which FAQ index answers where: the routes table and how a place is resolved.

A route maps a place on a platform to an FAQ index reference (what
``FAQ_INDEX`` accepts: a Hub dataset ``user/name``, optionally
``@branch-or-commit``, or a local folder). The place is a workspace (a
Slack team id, a Discord guild id) with ``channel`` ``''`` for the
workspace's default, or one channel of it (an override).

:func:`resolve` says which index answers a question: the channel's route,
else the workspace's default, else the deployment's ``FAQ_INDEX`` when one
is set, else none (the bot then says no FAQ is set up there: it never
answers from another team's FAQ). A thread follows its channel; a DM
follows the workspace default.

:class:`RouteTable` is what the bot reads on every question: the table
read through a short cache (``ttl`` seconds), emptied at once by a write
through it, so a change made on this replica counts from the next question
and one made on another replica (sharing the database) within ``ttl``.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import DateTime, String, delete, insert, select, update
from sqlalchemy.orm import Mapped, mapped_column

from bot.store.database import Base, Store
from bot.tenancy import Tenant, TenantError, shown_id

PLATFORMS = ("slack", "discord")
WORKSPACE_DEFAULT = ""  # the channel of a workspace's default route
DEFAULT_TTL_SECONDS = 2.0
MAX_ID = 64
MAX_REF = 512


class RouteRow(Base):
    """One route: the index answering in one channel, or a workspace's default (``channel`` ``''``)."""

    __tablename__ = "routes"

    platform: Mapped[str] = mapped_column(String(16), primary_key=True)
    workspace: Mapped[str] = mapped_column(String(MAX_ID), primary_key=True)
    channel: Mapped[str] = mapped_column(String(MAX_ID), primary_key=True)
    index_ref: Mapped[str] = mapped_column(String(MAX_REF))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    updated_by: Mapped[str | None] = mapped_column(String(MAX_ID), nullable=True)


@dataclass(frozen=True)
class Route:
    """One stored route."""

    platform: str
    workspace: str
    channel: str  # '' : the workspace's default
    index_ref: str
    updated_at: datetime
    updated_by: str | None = None

    @property
    def is_default(self) -> bool:
        return self.channel == WORKSPACE_DEFAULT

    def as_json(self) -> dict[str, str | None]:
        moment = self.updated_at if self.updated_at.tzinfo else self.updated_at.replace(tzinfo=UTC)
        return {"platform": self.platform, "workspace": self.workspace, "channel": self.channel or None,
                "index": self.index_ref, "updated_at": moment.isoformat(timespec="seconds"),
                "updated_by": self.updated_by}


@dataclass(frozen=True)
class Resolution:
    """Which index answers a question, and why: ``via`` is ``channel``,
    ``workspace``, ``deployment`` (``FAQ_INDEX``) or ``none`` (then ``index_ref`` is None)."""

    index_ref: str | None
    via: str


NOWHERE = Resolution(None, "none")


def check_place(platform: str, workspace: str, channel: str = WORKSPACE_DEFAULT) -> None:
    """Raise ``ValueError`` (one line) for a place no route can have."""
    if platform not in PLATFORMS:
        raise ValueError(f"unknown platform {platform!r}: one of {', '.join(PLATFORMS)}")
    for name, value, empty in (("workspace", workspace, False), ("channel", channel, True)):
        if (not value and not empty) or len(value) > MAX_ID or not (value.isprintable() and value.strip() == value):
            raise ValueError(f"{name} must be an id of at most {MAX_ID} printable characters, got {shown_id(value)}")
    try:  # the same id rule as the tenant a question arrives from: a route no tenant can match is refused
        Tenant(platform, workspace)
    except TenantError as error:
        raise ValueError(str(error)) from None


def set_route(store: Store, platform: str, workspace: str, channel: str, index_ref: str,
              by: str | None = None) -> bool:
    """Route ``platform``/``workspace``/``channel`` (``''``: the default) to
    ``index_ref`` (checked by the caller); True when it replaced another route."""
    check_place(platform, workspace, channel)
    values = {"index_ref": index_ref[:MAX_REF], "updated_at": datetime.now(UTC), "updated_by": (by or None)}
    where = (RouteRow.platform == platform, RouteRow.workspace == workspace, RouteRow.channel == channel)
    with store.transaction() as connection:
        if connection.execute(update(RouteRow).where(*where).values(**values)).rowcount:
            return True
        connection.execute(insert(RouteRow).values(platform=platform, workspace=workspace, channel=channel,
                                                   **values))
        return False


def unset_route(store: Store, platform: str, workspace: str, channel: str = WORKSPACE_DEFAULT) -> bool:
    """Remove one route; whether there was one."""
    check_place(platform, workspace, channel)
    with store.transaction() as connection:
        result = connection.execute(delete(RouteRow).where(
            RouteRow.platform == platform, RouteRow.workspace == workspace, RouteRow.channel == channel))
        return bool(result.rowcount)


def list_routes(store: Store, platform: str | None = None, workspace: str | None = None) -> list[Route]:
    """The stored routes (of one platform, of one workspace), defaults first within each workspace."""
    query = select(RouteRow).order_by(RouteRow.platform, RouteRow.workspace, RouteRow.channel)
    if platform is not None:
        query = query.where(RouteRow.platform == platform)
    if workspace is not None:
        query = query.where(RouteRow.workspace == workspace)
    with store.engine.connect() as connection:
        rows = connection.execute(query).all()
    return [Route(r.platform, r.workspace, r.channel, r.index_ref, r.updated_at, r.updated_by) for r in rows]


Key = tuple[str, str, str]


def resolve(routes: dict[Key, str], platform: str, workspace: str | None, channel: str | None, *,
            dm: bool = False, fallback: str | None = None) -> Resolution:
    """Which index answers in ``channel`` of ``workspace`` (see the module
    docstring); ``dm``: a direct message, which follows the workspace default."""
    if workspace:
        if channel and not dm:
            found = routes.get((platform, workspace, channel))
            if found:
                return Resolution(found, "channel")
        found = routes.get((platform, workspace, WORKSPACE_DEFAULT))
        if found:
            return Resolution(found, "workspace")
    if fallback:
        return Resolution(fallback, "deployment")
    return NOWHERE


class RouteTable:
    """The routes as the bot reads them on every question: cached ``ttl``
    seconds, and emptied by every write made through it."""

    def __init__(self, store: Store, *, fallback: str | None = None, ttl: float = DEFAULT_TTL_SECONDS,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.store = store
        self.fallback = fallback  # the deployment's FAQ_INDEX (with its revision), if any
        self.ttl = ttl
        self.clock = clock
        self._lock = threading.Lock()
        self._routes: dict[Key, str] | None = None
        self._read_at = 0.0

    def routes(self) -> dict[Key, str]:
        """Every route, as (platform, workspace, channel) -> index reference."""
        with self._lock:
            if self._routes is None or self.clock() - self._read_at >= self.ttl:
                self._routes = {(r.platform, r.workspace, r.channel): r.index_ref for r in list_routes(self.store)}
                self._read_at = self.clock()
            return self._routes

    def invalidate(self) -> None:
        """Read the table again at the next question."""
        with self._lock:
            self._routes = None

    def resolve(self, platform: str, workspace: str | None, channel: str | None, *, dm: bool = False) -> Resolution:
        """Which index answers there now (:func:`resolve`)."""
        return resolve(self.routes(), platform, workspace, channel, dm=dm, fallback=self.fallback)

    def set(self, platform: str, workspace: str, channel: str, index_ref: str, by: str | None = None) -> bool:
        """:func:`set_route`, counted from the next question on this replica."""
        try:
            return set_route(self.store, platform, workspace, channel, index_ref, by)
        finally:
            self.invalidate()

    def unset(self, platform: str, workspace: str, channel: str = WORKSPACE_DEFAULT) -> bool:
        """:func:`unset_route`, counted from the next question on this replica."""
        try:
            return unset_route(self.store, platform, workspace, channel)
        finally:
            self.invalidate()

    def of_workspace(self, platform: str, workspace: str) -> list[Route]:
        """The routes of one workspace, read now (what admins are shown)."""
        return list_routes(self.store, platform, workspace)
