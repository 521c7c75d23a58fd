"""A local stand-in for Slack's Socket Mode WebSocket server.

It speaks Slack's envelope protocol on ``ws://127.0.0.1:<free port>/link``:

- on connect it sends ``{"type": "hello", ...}``;
- :meth:`SocketModeStub.send` delivers an ``events_api``, ``slash_commands``
  or ``interactive`` envelope (with ``envelope_id``, ``payload``,
  ``accepts_response_payload`` and, for events, ``retry_attempt`` /
  ``retry_reason`` as Slack sets them on retries);
- the app must answer each envelope with ``{"envelope_id": ...}`` (plus an
  optional ``payload``); every such ack is recorded in :attr:`acks`.

Attach it to :class:`~tests.stubs.slack_api.SlackAPIStub` (``api.socket_url =
stub.url``) so ``apps.connections.open`` hands the app this server's URL.
Tests wait on acks with :meth:`wait_acks` (a condition variable, no polling).
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from typing import Any

from websockets.exceptions import ConnectionClosed
from websockets.sync.server import ServerConnection

from tests.stubs.loopback import LoopbackWebSocketService


class SocketModeStub(LoopbackWebSocketService):
    """Socket Mode server; use as a context manager."""

    def __init__(self, app_id: str = "A0TESTAPP") -> None:
        self.app_id = app_id
        self.acks: list[dict[str, Any]] = []
        self.ack_times: dict[str, float] = {}
        self.sent_times: dict[str, float] = {}
        self.connection_paths: list[str] = []
        self.unknown: list[str] = []
        self._connections: list[ServerConnection] = []
        self._changed = threading.Condition()
        super().__init__(self._handle)

    @property
    def url(self) -> str:
        """The WebSocket URL ``apps.connections.open`` returns."""
        return f"{self.ws_origin}/link/?ticket={uuid.uuid4().hex}&app_id={self.app_id}"

    # -- protocol ----------------------------------------------------------------
    def _handle(self, connection: ServerConnection) -> None:
        path = connection.request.path if connection.request else ""
        connection.send(json.dumps({
            "type": "hello", "num_connections": 1,
            "debug_info": {"host": "applink-stub", "approximate_connection_time": 18060},
            "connection_info": {"app_id": self.app_id},
        }))
        with self._changed:
            self.connection_paths.append(path)
            self._connections.append(connection)
            self._changed.notify_all()
        try:
            for raw in connection:
                now = time.perf_counter()
                try:
                    message = json.loads(raw)
                except ValueError:
                    message = None
                with self._changed:
                    if isinstance(message, dict) and "envelope_id" in message:
                        self.acks.append(message)
                        self.ack_times.setdefault(str(message["envelope_id"]), now)
                    else:
                        self.unknown.append(str(raw))
                    self._changed.notify_all()
        except ConnectionClosed:
            pass
        finally:
            with self._changed:
                if connection in self._connections:
                    self._connections.remove(connection)
                self._changed.notify_all()

    def wait_connected(self, timeout: float = 20.0, *, connections: int = 1) -> None:
        """Block until an app has connected (``connections`` times in all, counting reconnects)."""
        with self._changed:
            if not self._changed.wait_for(
                lambda: bool(self._connections) and len(self.connection_paths) >= connections, timeout
            ):
                raise AssertionError(f"no Socket Mode connection #{connections} arrived")

    def disconnect(self, reason: str = "refresh_requested") -> None:
        """Ask the app to reconnect, as Slack does every few hours (``type: disconnect``)."""
        with self._changed:
            connection = self._connections[-1]
        connection.send(json.dumps({"type": "disconnect", "reason": reason,
                                    "debug_info": {"host": "applink-stub"}}))

    def send(self, kind: str, payload: dict[str, Any], *, retry_attempt: int | None = None,
             retry_reason: str | None = None, envelope_id: str | None = None) -> str:
        """Deliver one envelope to the connected app; returns its ``envelope_id``."""
        envelope_id = envelope_id or uuid.uuid4().hex
        envelope: dict[str, Any] = {
            "envelope_id": envelope_id,
            "payload": payload,
            "type": kind,
            "accepts_response_payload": kind != "events_api",
        }
        if kind == "events_api":
            envelope["retry_attempt"] = retry_attempt or 0
            envelope["retry_reason"] = retry_reason or ""
        with self._changed:
            if not self._connections:
                raise AssertionError("no app is connected")
            connection = self._connections[-1]
            self.sent_times[envelope_id] = time.perf_counter()
        connection.send(json.dumps(envelope))
        return envelope_id

    def wait_acks(self, *envelope_ids: str, timeout: float = 20.0) -> list[dict[str, Any]]:
        """Block until every envelope in ``envelope_ids`` was acknowledged; returns their acks."""
        wanted = set(envelope_ids)
        with self._changed:
            done = self._changed.wait_for(lambda: wanted <= {a["envelope_id"] for a in self.acks}, timeout)
            if not done:
                raise AssertionError(f"envelopes not acknowledged: {wanted - {a['envelope_id'] for a in self.acks}}")
            return [a for a in self.acks if a["envelope_id"] in wanted]
