"""Hostile HTTP clients: raw-socket requests (broken framing, slow senders)
and a seeded corpus of malformed requests, signed and unsigned, for fuzzing
the bot's ``/slack/events``.

The corpus is a pure function of its seed, so a failing case can be replayed
by its index. Each case carries the raw bytes of one HTTP/1.1 request
(``Connection: close``), so framing faults such as ``Content-Length: abc``
reach the server as written.
"""

from __future__ import annotations

import contextlib
import copy
import hashlib
import hmac
import json
import random
import socket
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from tests.stubs.slack_api import BOT_USER_ID
from tests.stubs.slack_payloads import (
    SIGNING_SECRET,
    button_click,
    direct_message,
    home_opened,
    mention,
    sign,
    slash_command,
)

EVENTS_PATH = "/slack/events"


def http_request(path: str, body: bytes, headers: dict[str, str], *, method: str = "POST",
                 content_length: str | None = None) -> bytes:
    """The bytes of one request; ``content_length`` overrides the header's true value."""
    lines = [f"{method} {path} HTTP/1.1", "Host: 127.0.0.1", "Connection: close"]
    lines += [f"{name}: {value}" for name, value in headers.items()]
    lines.append(f"Content-Length: {len(body) if content_length is None else content_length}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


def exchange(port: int, data: bytes, *, timeout: float = 10.0) -> bytes:
    """Send ``data`` on a fresh connection and read until the server closes it."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            sock.sendall(data)  # the server may answer (and close) before reading everything
        return read_all(sock)


def read_all(sock: socket.socket) -> bytes:
    """Everything the server sends until it closes (a reset counts as closing)."""
    chunks = []
    while True:
        try:
            chunk = sock.recv(65536)
        except ConnectionResetError:
            break
        if not chunk:
            break
        chunks.append(chunk)
    return b"".join(chunks)


def status_of(response: bytes) -> int | None:
    """The status code of a raw HTTP response (``None`` for no response at all)."""
    if not response.startswith(b"HTTP/1.1 "):
        return None
    return int(response[9:12])


def wait_closed(sock: socket.socket, within: float) -> bool:
    """Whether the server closes ``sock`` within ``within`` seconds (whatever it sends first)."""
    sock.settimeout(within)
    end = time.monotonic() + within
    try:
        while time.monotonic() < end:
            if not sock.recv(65536):
                return True
    except ConnectionResetError:
        return True
    except TimeoutError:
        return False
    return False


def backtracking_bait(length: int) -> dict[str, str]:
    """Message texts of about ``length`` characters built to make Slack-markup
    patterns backtrack (each was quadratic in the old ``bot/slack/text.py``)."""
    return {
        "emoji (' :' + letters)": " :" + "a" * length,
        "user mention ('<@U1|' x n)": "<@U1|" * (length // 5),
        "channel ('<#C1|' x n)": "<#C1|" * (length // 5),
        "special ('<!a^' x n)": "<!a^" * (length // 4),
        "link ('<http:' x n)": "<http:" * (length // 6),
        "bot mention ('<@UBOT|' x n)": "<@UBOT|" * (length // 7),
    }


@dataclass(frozen=True)
class Case:
    """One fuzz request: what it is (for failure messages) and its raw bytes."""

    name: str
    data: bytes
    signed: bool


def _signed(body: bytes, content_type: str, *, secret: str = SIGNING_SECRET) -> dict[str, str]:
    """Slack's v0 signature headers over raw bytes (which may not even be UTF-8)."""
    ts = str(int(time.time()))
    digest = hmac.new(secret.encode(), b"v0:" + ts.encode() + b":" + body, hashlib.sha256).hexdigest()
    return {"Content-Type": content_type, "X-Slack-Request-Timestamp": ts, "X-Slack-Signature": f"v0={digest}"}


_ODD_VALUES: list[Any] = [None, "", "x", 0, -1, 1.5, True, [], [1, "a"], {}, {"a": None}, "\ud800", "\x00",
                          "a" * 5000, [[[[]]]], {"type": 5}]


def _deep(depth: int, opener: str = "[") -> str:
    closer = "]" if opener == "[" else "}"
    inner = '{"a":' if opener == "{" else "["
    return inner * depth + "1" + closer * depth


def _mutate(rng: random.Random, value: Any, depth: int = 0) -> Any:
    """``value`` with one field somewhere deleted or replaced by an odd value."""
    value = copy.deepcopy(value)
    node = value
    while isinstance(node, dict) and node and depth < 4:
        key = rng.choice(list(node))
        child = node[key]
        if isinstance(child, dict | list) and child and rng.random() < 0.5:
            if isinstance(child, list):
                child = child[0] if isinstance(child[0], dict) else child
                if not isinstance(child, dict):
                    node[key] = rng.choice(_ODD_VALUES)
                    return value
            node = child
            depth += 1
            continue
        if rng.random() < 0.3:
            del node[key]
        else:
            node[key] = copy.deepcopy(rng.choice(_ODD_VALUES))
        return value
    return value


JSON = "application/json"
FORM = "application/x-www-form-urlencoded"
# The Socket Mode envelope type that carries each kind of payload.
ENVELOPE_TYPES = {"mention": "events_api", "dm": "events_api", "home": "events_api", "action": "interactive",
                  "command": "slash_commands"}


def _valid_payloads(rng: random.Random, response_url: str) -> list[tuple[str, dict[str, Any]]]:
    """(kind, payload) of well-formed requests, the mutations' seeds."""
    button = {"action_id": rng.choice(["faq_helpful", "faq_not_helpful", "faq_share", "faq_pick_0"]),
              "text": {"type": "plain_text", "text": "x"}, "value": "not-ours"}
    return [
        ("mention", mention(f"<@{BOT_USER_ID}> what is medicare")),
        ("dm", direct_message("how do I sign up?")),
        ("home", home_opened()),
        ("action", button_click(button, response_url=response_url)),
        ("command", dict(slash_command("part b", response_url))),
    ]


def mutated_payload(rng: random.Random, response_url: str) -> tuple[str, str, dict[str, Any]]:
    """(name, kind, payload): a real payload with one field somewhere deleted or
    made odd (a slash command, whose fields are all strings, loses some)."""
    kind, payload = rng.choice(_valid_payloads(rng, response_url))
    if kind == "command":
        for name in rng.sample(list(payload), rng.randint(1, 3)):
            del payload[name]
        return f"{kind}-missing-fields", kind, payload
    return f"{kind}-mutated", kind, _mutate(rng, payload)


def http_body(kind: str, payload: dict[str, Any]) -> tuple[str, str]:
    """(body, content type) of ``payload`` as Slack POSTs that kind to ``/slack/events``."""
    if kind == "command":
        return urlencode(payload), FORM
    if kind == "action":
        return urlencode({"payload": json.dumps(payload)}), FORM
    return json.dumps(payload), JSON


def socket_mode_corpus(count: int, *, seed: int = 8,
                       response_url: str = "http://127.0.0.1:9/response/fuzz") -> Iterator[tuple[str, str, Any]]:
    """``count`` (name, envelope type, payload) of mutated payloads for Socket Mode."""
    rng = random.Random(seed)
    for number in range(count):
        name, kind, payload = mutated_payload(rng, f"{response_url}-{number}")
        yield name, ENVELOPE_TYPES[kind], payload


# (name, body, content type): the malformed signed payloads the hostile-input review found answered with 500.
FOUND_SIGNED_CASES: list[tuple[str, str, str]] = [
    ("event-null", json.dumps({"type": "event_callback", "event_id": "Ev1", "event": None}), "application/json"),
    ("event-string", json.dumps({"type": "event_callback", "event_id": "Ev2", "event": "x"}), "application/json"),
    ("event-list", json.dumps({"type": "event_callback", "event_id": "Ev3", "event": [1]}), "application/json"),
    ("actions-empty", urlencode({"payload": json.dumps({"type": "block_actions", "user": {"id": "U1"},
                                                        "actions": [], "trigger_id": "t",
                                                        "response_url": "http://127.0.0.1:9/r"})}),
     "application/x-www-form-urlencoded"),
    ("faq-without-response-url", urlencode({k: v for k, v in slash_command("hi", "x").items()
                                            if k != "response_url"}), "application/x-www-form-urlencoded"),
    ("home-without-user", json.dumps({"type": "event_callback", "event_id": "Ev4",
                                      "event": {"type": "app_home_opened", "tab": "home"}}), "application/json"),
    ("channel-not-a-string", json.dumps(mention(f"<@{BOT_USER_ID}> hi") | {"event": {
        "type": "app_mention", "user": "U1", "text": "hi", "ts": "1.2", "channel": 12345}}), "application/json"),
    ("body-list", "[]", "application/json"),
    ("body-bad-json", "{bad}", "application/json"),
    ("body-deep-json", _deep(100_000), "application/json"),
    ("payload-list", urlencode({"payload": "[1]"}), "application/x-www-form-urlencoded"),
    ("payload-bad", "payload={bad", "application/x-www-form-urlencoded"),
    ("payload-deep", urlencode({"payload": _deep(50_000, "{")}), "application/x-www-form-urlencoded"),
]


def _unsigned_case(rng: random.Random, i: int) -> tuple[str, bytes, dict[str, str], str | None]:
    """(name, body, headers, Content-Length override) of a request without a valid signature."""
    body = rng.choice([b"{bad}", b"[]", _deep(rng.choice([10, 1000, 100_000])).encode(), b"",
                       b"payload=%7Bbad", b"x" * rng.randint(1, 200_000), bytes(rng.randbytes(rng.randint(1, 2000))),
                       b'{"type": "event_callback"}\nINFO forged log line', json.dumps(mention("hi")).encode()])
    ts = str(int(time.time()))
    headers: dict[str, str] = {"Content-Type": rng.choice(["application/json", "application/x-www-form-urlencoded",
                                                            "text/plain", "multipart/form-data; boundary=x"])}
    variant = rng.randrange(7)
    if variant == 0:
        pass  # no signature headers at all
    elif variant == 1:
        headers |= {"X-Slack-Request-Timestamp": rng.choice(["abc", "", "-1", "1e9", "12345678901234567890",
                                                             "\u0661\u0662"]).encode("utf-8").decode("latin-1"),
                    "X-Slack-Signature": "v0=" + "0" * 64}
    elif variant == 2:
        headers |= {"X-Slack-Request-Timestamp": ts,
                    "X-Slack-Signature": rng.choice(["", "v0=", "zz", "v0=" + "a" * 5000])}
    elif variant == 3:
        headers |= sign(body.decode("latin-1"), secret="0" * 32).headers | {"Content-Type": headers["Content-Type"]}
    elif variant == 4:
        headers |= sign(body.decode("latin-1"), timestamp=int(time.time()) - 3600).headers
    elif variant == 5:
        return "content-length-" + str(i), body, headers, rng.choice(["abc", "-5", "1e3", "0x10", " ", "99999999999"])
    else:
        headers |= {"X-Slack-Request-Timestamp": ts, "X-Slack-Signature": "v0=" + "f" * 64,
                    "Transfer-Encoding": "chunked"}
        return "chunked-garbage", body, headers, "5"
    return f"unsigned-{variant}", body, headers, None


def corpus(count: int, *, seed: int = 8, secret: str = SIGNING_SECRET,
           response_url: str = "http://127.0.0.1:9/response/fuzz") -> Iterator[Case]:
    """``count`` malformed requests from ``seed``: the fixed cases the
    hostile-input review found first, then about half signed mutations of real payloads (replying to
    ``response_url``-<case number> where they still can: Slack takes at most
    5 replies per URL) and half unsigned or broken requests."""
    rng = random.Random(seed)
    produced = 0
    for name, body, content_type in FOUND_SIGNED_CASES:
        if produced == count:
            return
        raw = body.encode()
        yield Case(name, http_request(EVENTS_PATH, raw, _signed(raw, content_type, secret=secret)), True)
        produced += 1
    non_numeric = {"Content-Type": "application/json", "X-Slack-Request-Timestamp": "abc",
                   "X-Slack-Signature": "v0=" + "0" * 64}
    for name, data in [("timestamp-not-a-number", http_request(EVENTS_PATH, b"{}", non_numeric)),
                       ("content-length-abc", http_request(EVENTS_PATH, b"{}", {}, content_length="abc"))]:
        if produced == count:
            return
        yield Case(name, data, False)
        produced += 1
    while produced < count:
        if rng.random() < 0.5:
            name, kind, payload = mutated_payload(rng, f"{response_url}-{produced}")
            body, content_type = http_body(kind, payload)
            if rng.random() < 0.1:
                body += rng.choice(["\ud800", "\x00", "}", "&payload=[]"])
            raw = body.encode("utf-8", "surrogatepass")
            headers = _signed(raw, content_type, secret=secret)
            yield Case(name, http_request(EVENTS_PATH, raw, headers), True)
        else:
            name, raw, headers, length = _unsigned_case(rng, produced)
            yield Case(name, http_request(EVENTS_PATH, raw, headers, content_length=length), False)
        produced += 1
