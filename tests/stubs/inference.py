"""A local stand-in for the embedding services faq-bot talks to.

It listens on a free loopback port and speaks the three real protocols:

- the Hugging Face router: ``POST /hf-inference/models/{model}/pipeline/feature-extraction``
  with ``{"inputs": [...], "normalize": .., "truncate": ..}`` -> list of vectors;
  without the ``/pipeline/feature-extraction`` suffix it answers like the
  sentence-similarity task does (400), and the retired api-inference path
  ``/pipeline/feature-extraction/{model}`` answers 410;
- text-embeddings-inference: ``POST /embed`` with the same body;
- OpenAI-style: ``POST /v1/embeddings`` with ``{"input": [...], "model": ..}``.

It checks the bearer token like the real service (401 with a JSON error), and
serves real vectors from the function it is given (the local model in tests).
Tests script failures with :meth:`InferenceStub.script` (503 then 200, 429 with
``Retry-After``, malformed JSON, slow replies ...) and read what it received
from :attr:`InferenceStub.requests`.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from typing import Any

import numpy as np

from tests.stubs.loopback import LoopbackHTTPService

ROUTER_PREFIX = "/hf-inference/models/"
PIPELINE_SUFFIX = "/pipeline/feature-extraction"


@dataclass
class Reply:
    """One scripted reply: status, JSON (or raw bytes) body, headers, delay."""

    status: int = 200
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0
    raw: bytes | None = None


@dataclass
class Received:
    """One request the stub received."""

    method: str
    path: str
    headers: dict[str, str]
    body: Any


class InferenceStub(LoopbackHTTPService):
    """Embedding server on 127.0.0.1:<free port>; use as a context manager."""

    def __init__(
        self,
        embed: Callable[[list[str]], np.ndarray],
        *,
        token: str = "hf_test_token_123",
        model: str = "sentence-transformers/all-MiniLM-L6-v2",
        token_level: bool = False,
    ) -> None:
        self.embed = embed
        self.token = token
        self.model = model
        self.token_level = token_level
        self.requests: list[Received] = []
        self.replies: list[Reply] = []  # what was sent back, in order (tests check the shapes they got)
        self._script: list[Reply] = []
        self._lock = threading.Lock()
        self.down = False  # True: every request gets 503, as from a service (or its load balancer) that is down
        super().__init__(self._handler_class())

    @property
    def base_url(self) -> str:
        """Base URL for the TEI and OpenAI-style backends."""
        return self.origin

    def router_url(self, model: str | None = None) -> str:
        """The router URL for ``model``, as the real one is formed."""
        return f"{self.base_url}{ROUTER_PREFIX}{model or self.model}{PIPELINE_SUFFIX}"

    def script(self, *replies: Reply) -> None:
        """Answer the next requests with these replies, in order, then normally."""
        with self._lock:
            self._script.extend(replies)

    # -- protocol ----------------------------------------------------------------
    def _respond(self, method: str, path: str, headers: dict[str, str], raw: bytes) -> Reply:
        reply = self._answer(method, path, headers, raw)
        with self._lock:
            self.replies.append(reply)
        return reply

    def _answer(self, method: str, path: str, headers: dict[str, str], raw: bytes) -> Reply:
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            body = raw.decode("utf-8", "replace")
        with self._lock:
            self.requests.append(Received(method, path, headers, body))
            scripted = self._script.pop(0) if self._script else None
        if self.down:
            return Reply(503, {"error": "Service Unavailable"})
        if scripted is not None:
            return scripted
        if headers.get("authorization") != f"Bearer {self.token}":
            return Reply(401, {"error": "Invalid credentials in Authorization header"})
        if method != "POST":
            return Reply(405, {"error": "Method Not Allowed"})
        if path.startswith("/pipeline/feature-extraction/"):
            return Reply(410, {"error": "https://api-inference.huggingface.co is no longer supported. "
                                        "Please use https://router.huggingface.co/hf-inference instead."})
        if path.startswith(ROUTER_PREFIX):
            model = path[len(ROUTER_PREFIX):]
            if not model.endswith(PIPELINE_SUFFIX):
                return Reply(400, {"error": "SentenceSimilarityPipeline expected `source_sentence` in inputs"})
            model = model[: -len(PIPELINE_SUFFIX)]
            if model != self.model:
                return Reply(404, {"error": f"Model {model} does not exist"})
            return self._vectors(body, "inputs")
        if path == "/embed":
            return self._vectors(body, "inputs")
        if path == "/v1/embeddings":
            reply = self._vectors(body, "input")
            if reply.status != 200:
                return reply
            data = [{"object": "embedding", "index": i, "embedding": v} for i, v in enumerate(reply.body)]
            data.reverse()  # servers need not keep order; the client must sort by index
            return Reply(200, {"object": "list", "data": data, "model": self.model})
        return Reply(404, {"error": "Not Found"})

    def _vectors(self, body: Any, key: str) -> Reply:
        texts = body.get(key) if isinstance(body, dict) else None
        if isinstance(texts, str):
            return Reply(200, self.embed([texts])[0].tolist())  # a single string comes back 1-D
        if not isinstance(texts, list) or not all(isinstance(t, str) for t in texts):
            return Reply(422, {"error": f"Input validation error: `{key}` must be a string or a list of strings"})
        if len(texts) > 32:
            return Reply(413, {"error": "batch size 64 > maximum allowed batch size 32"})
        vectors = self.embed(texts)
        if not self.token_level:
            return Reply(200, vectors.tolist())
        # Token-level output: per text, token rows whose mean is the sentence vector
        # (different lengths per text, as real unpadded output has).
        out = []
        for i, vector in enumerate(vectors):
            spread = np.linspace(-0.05, 0.05, vector.shape[0], dtype=np.float32)
            tokens = [vector + spread, vector - spread] + [vector] * (i % 3)
            out.append([t.tolist() for t in tokens])
        return Reply(200, out)

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        stub = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:  # keep test output clean
                pass

            def _handle(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                headers = {k.lower(): v for k, v in self.headers.items()}
                reply = stub._respond(self.command, self.path, headers, raw)
                if reply.delay:
                    time.sleep(reply.delay)
                payload = reply.raw if reply.raw is not None else json.dumps(reply.body).encode()
                try:
                    self.send_response(reply.status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(payload)))
                    for name, value in reply.headers.items():
                        self.send_header(name, value)
                    self.end_headers()
                    self.wfile.write(payload)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up (timeout tests)

            do_POST = _handle
            do_GET = _handle

        return Handler
