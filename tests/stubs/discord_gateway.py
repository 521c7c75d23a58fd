"""A local stand-in for Discord's Gateway (v10, JSON encoding), for the real discord.py client.

It listens on ``ws://127.0.0.1:<free port>/`` and speaks the Gateway protocol:

- on connect, HELLO (op 10) with ``heartbeat_interval``;
- HEARTBEAT (op 1) is answered with HEARTBEAT_ACK (op 11);
- IDENTIFY (op 2) with the right token starts a session: READY (session_id,
  ``resume_gateway_url``, user, application, the guild as unavailable) then
  GUILD_CREATE with the guild; a wrong token closes with 4004 (authentication
  failed), and asking for a privileged intent (Message Content, Members,
  Presences) not switched on in :attr:`privileged_allowed` with 4014
  (disallowed intents), as Discord does;
- RESUME (op 6) of a known session replays every dispatch after the client's
  ``seq`` (plus, on request, dispatches it already saw: :meth:`redeliver_on_resume`),
  then RESUMED; an unknown session gets INVALID_SESSION (op 9, ``d: false``);
- :meth:`dispatch` pushes an event (op 0 with the next ``s``); while the client is
  disconnected it is kept and replayed on RESUME, as Discord does;
- :meth:`drop` closes the connection with a resumable code (4000);
  :meth:`disconnected` does so and keeps the client away for a ``with`` block, so
  what is dispatched inside it is certainly missed and then replayed;
  :meth:`request_reconnect` sends op 7 RECONNECT.

Compression: a client asking ``compress=zlib-stream`` (discord.py always does)
gets binary frames from one zlib stream per connection, each ending in the
``00 00 ff ff`` sync-flush suffix, exactly like Discord; without the parameter
(or with ``zstd-stream``, not modelled) frames are plain JSON text, which
discord.py also reads.

Tests wait on state with :meth:`wait_for` / :meth:`wait_identified` /
:meth:`wait_resumed` (a condition variable with a deadline, never sleep-and-poll);
:attr:`received` records every payload a client sent.
"""

from __future__ import annotations

import contextlib
import json
import threading
import uuid
import zlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from websockets.exceptions import ConnectionClosed
from websockets.sync.server import ServerConnection

from tests.stubs import discord_payloads as P
from tests.stubs.loopback import LoopbackWebSocketService

DISPATCH, HEARTBEAT, IDENTIFY, RESUME, RECONNECT, INVALID_SESSION, HELLO, HEARTBEAT_ACK = 0, 1, 2, 6, 7, 9, 10, 11
AUTHENTICATION_FAILED = 4004
DISALLOWED_INTENTS = 4014  # a privileged intent the application has not switched on (or not been approved for)
# Privileged intents: GUILD_PRESENCES, GUILD_MEMBERS, MESSAGE_CONTENT
PRIVILEGED_INTENTS = (1 << 8) | (1 << 1) | P.MESSAGE_CONTENT_INTENT
RESUMABLE_CLOSE = 4000  # "unknown error": clients reconnect and resume


@dataclass
class Session:
    """One Gateway session: its dispatches so far, each with its sequence number."""

    id: str
    events: list[dict[str, Any]] = field(default_factory=list)  # the op-0 payloads, in order
    connection: ServerConnection | None = None
    resumes: int = 0
    replayed: list[int] = field(default_factory=list)  # sequence numbers re-sent by the last RESUME
    redeliver: int = 0  # on the next RESUME, also re-send this many dispatches the client already saw

    @property
    def seq(self) -> int:
        return len(self.events)


class _Link:
    """One WebSocket connection and how its frames are encoded (zlib-stream or text)."""

    def __init__(self, connection: ServerConnection, compress: bool) -> None:
        self.connection = connection
        self._zlib = zlib.compressobj() if compress else None
        self._lock = threading.Lock()

    def send(self, payload: dict[str, Any]) -> None:
        text = json.dumps(payload)
        with self._lock:  # one zlib stream: frames must leave in the order they were compressed
            if self._zlib is None:
                self.connection.send(text)
            else:
                self.connection.send(self._zlib.compress(text.encode()) + self._zlib.flush(zlib.Z_SYNC_FLUSH))


class DiscordGatewayStub(LoopbackWebSocketService):
    """The Gateway WebSocket server; use as a context manager."""

    def __init__(self, bot_token: str = P.BOT_TOKEN, *, heartbeat_interval_ms: int = 41_250) -> None:
        self.bot_token = bot_token
        self.heartbeat_interval_ms = heartbeat_interval_ms
        self.sessions: dict[str, Session] = {}
        self.received: list[dict[str, Any]] = []  # every payload clients sent, in order
        self.connection_paths: list[str] = []
        self.identifies = 0
        self.heartbeats = 0
        self._links: dict[ServerConnection, _Link] = {}
        self._current: Session | None = None
        self._held = False  # while set, RESUME and IDENTIFY wait: the client stays away
        self.intents: list[int] = []  # what each IDENTIFY asked for
        self.privileged_allowed = 0  # privileged intents switched on for the application (Bot page)
        self._changed = threading.Condition()
        super().__init__(self._handle)

    @property
    def url(self) -> str:
        """The WebSocket URL ``GET /gateway/bot`` hands out (and READY's ``resume_gateway_url``)."""
        return self.ws_origin

    # -- what tests do ----------------------------------------------------------------
    def dispatch(self, event: str, data: dict[str, Any]) -> int:
        """Push a dispatch (op 0) on the current session; returns its sequence number.
        If the client is disconnected it is kept and replayed when the client resumes."""
        with self._changed:  # sent under the lock: dispatches leave in sequence order, never racing a replay
            session = self._require_session()
            payload = {"op": DISPATCH, "t": event, "s": session.seq + 1, "d": data}
            session.events.append(payload)
            link = self._links.get(session.connection) if session.connection else None
            if link is not None:
                with contextlib.suppress(ConnectionClosed):  # if it closed meanwhile: replayed on RESUME
                    link.send(payload)
        return session.seq

    def dispatch_all(self, event: str, data: dict[str, Any]) -> None:
        """Push a dispatch on every connected session, as Discord does when two
        processes (replicas) run the same bot unsharded: each sees every event."""
        with self._changed:
            sessions = [s for s in self.sessions.values() if s.connection is not None]
            for session in sessions:
                payload = {"op": DISPATCH, "t": event, "s": session.seq + 1, "d": data}
                session.events.append(payload)
                link = self._links.get(session.connection) if session.connection else None
                if link is not None:
                    with contextlib.suppress(ConnectionClosed):
                        link.send(payload)

    def drop(self, code: int = RESUMABLE_CLOSE) -> None:
        """Close the current connection the way a network blip does, so the client resumes.
        Returns once the session is marked disconnected: a dispatch sent next is missed, then replayed."""
        with self._changed:
            session = self._require_session()
            connection = session.connection
            session.connection = None
        if connection is not None:
            connection.close(code, "stand-in dropped the connection")

    @contextmanager
    def disconnected(self, code: int = RESUMABLE_CLOSE) -> Iterator[None]:
        """Drop the connection and keep the client away until the block ends: dispatches sent
        inside the block are certainly missed, and replayed when the client resumes after it."""
        with self._changed:
            self._held = True
        try:
            self.drop(code)
            yield
        finally:
            with self._changed:
                self._held = False
                self._changed.notify_all()

    def request_reconnect(self) -> None:
        """Send op 7 RECONNECT: the client must reconnect and resume."""
        with self._changed:
            session = self._require_session()
            link = self._links.get(session.connection) if session.connection else None
        if link is None:
            raise AssertionError("no client is connected")
        link.send({"op": RECONNECT, "d": None, "s": None, "t": None})

    def redeliver_on_resume(self, count: int = 1) -> None:
        """On the next RESUME, also re-send the last ``count`` dispatches the client already
        acknowledged by its ``seq``: Discord delivers at least once, and so may repeat an event."""
        with self._changed:
            self._require_session().redeliver = count

    # -- waiting -----------------------------------------------------------------
    def wait_for(self, predicate: Callable[[], bool], timeout: float = 10.0, what: str = "gateway state") -> None:
        """Block until ``predicate()`` (evaluated under the stand-in's lock) holds."""
        with self._changed:
            if not self._changed.wait_for(predicate, timeout):
                raise AssertionError(f"timed out waiting for {what}; client sent ops "
                                     f"{[p.get('op') for p in self.received]}")

    def wait_identified(self, count: int = 1, timeout: float = 10.0) -> Session:
        """Block until ``count`` IDENTIFYs started sessions; returns the current session."""
        self.wait_for(lambda: self.identifies >= count and self._current is not None, timeout, "IDENTIFY")
        assert self._current is not None
        return self._current

    def wait_resumed(self, count: int = 1, timeout: float = 10.0) -> Session:
        """Block until the current session was resumed ``count`` times in all."""
        self.wait_for(lambda: self._current is not None and self._current.resumes >= count, timeout, "RESUME")
        assert self._current is not None
        return self._current

    # -- protocol ----------------------------------------------------------------
    def _require_session(self) -> Session:
        if self._current is None:
            raise AssertionError("no client has identified")
        return self._current

    def _handle(self, connection: ServerConnection) -> None:
        request = connection.request
        path = request.path if request else "/"
        query = dict(parse_qsl(urlsplit(path).query))
        link = _Link(connection, compress=query.get("compress") == "zlib-stream")
        with self._changed:
            self.connection_paths.append(path)
            self._links[connection] = link
            self._changed.notify_all()
        try:
            link.send({"op": HELLO, "d": {"heartbeat_interval": self.heartbeat_interval_ms}, "s": None, "t": None})
            for raw in connection:
                try:
                    payload = json.loads(raw)
                except ValueError:
                    connection.close(4002, "Error while decoding payload.")
                    return
                with self._changed:
                    self.received.append(payload)
                    self._changed.notify_all()
                self._receive(link, payload)
        except ConnectionClosed:
            pass
        finally:
            with self._changed:
                self._links.pop(connection, None)
                for session in self.sessions.values():
                    if session.connection is connection:
                        session.connection = None
                self._changed.notify_all()

    def _receive(self, link: _Link, payload: dict[str, Any]) -> None:
        op, data = payload.get("op"), payload.get("d") or {}
        if op == HEARTBEAT:
            with self._changed:
                self.heartbeats += 1
                self._changed.notify_all()
            link.send({"op": HEARTBEAT_ACK, "d": None, "s": None, "t": None})
        elif op == IDENTIFY:
            self._identify(link, data)
        elif op == RESUME:
            self._resume(link, data)
        # presence updates (3), member requests (8) and the like are recorded in `received` only

    def _wait_unheld(self) -> None:
        with self._changed:
            self._changed.wait_for(lambda: not self._held, 30.0)

    def _identify(self, link: _Link, data: dict[str, Any]) -> None:
        self._wait_unheld()
        if data.get("token") != self.bot_token:
            link.connection.close(AUTHENTICATION_FAILED, "Authentication failed.")
            return
        asked = int(data.get("intents") or 0)
        with self._changed:
            self.intents.append(asked)
        if asked & PRIVILEGED_INTENTS & ~self.privileged_allowed:  # not switched on for this application
            link.connection.close(DISALLOWED_INTENTS, "Disallowed intent(s).")
            return
        session = Session(id=uuid.uuid4().hex, connection=link.connection)
        with self._changed:
            self.sessions[session.id] = session
            self._current = session
            self.identifies += 1
        self.dispatch("READY", {
            "v": 10, "user": P.bot_user(), "guilds": [{"id": P.GUILD_ID, "unavailable": True}],
            "session_id": session.id, "resume_gateway_url": self.url, "shard": [0, 1],
            "application": {"id": P.APPLICATION_ID, "flags": 0}, "private_channels": [], "relationships": [],
            "presences": [], "guild_join_requests": [], "geo_ordered_rtc_regions": [], "user_settings": {},
        })
        self.dispatch("GUILD_CREATE", P.guild())
        with self._changed:
            self._changed.notify_all()

    def _resume(self, link: _Link, data: dict[str, Any]) -> None:
        self._wait_unheld()
        with self._changed:
            session = self.sessions.get(str(data.get("session_id")))
        if data.get("token") != self.bot_token:
            link.connection.close(AUTHENTICATION_FAILED, "Authentication failed.")
            return
        if session is None:
            link.send({"op": INVALID_SESSION, "d": False, "s": None, "t": None})
            return
        with self._changed:  # replay, RESUMED and the hand-over happen under the lock: no dispatch can interleave
            after = max(0, int(data.get("seq") or 0) - session.redeliver)
            session.redeliver = 0
            session.replayed = [int(p["s"]) for p in session.events[after:]]
            for payload in session.events[after:]:
                link.send(payload)
            link.send({"op": DISPATCH, "t": "RESUMED", "s": None, "d": {}})
            session.connection = link.connection
            session.resumes += 1
            self._current = session
            self._changed.notify_all()
