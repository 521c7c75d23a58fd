"""HTTP embedding backends: the Hugging Face Inference API, self-hosted TEI /
Inference Endpoints, and OpenAI-style ``/v1/embeddings`` servers.

They share one choke point, :meth:`HTTPEmbedder._post`: a pooled
``requests.Session``, explicit connect/read timeouts, jittered exponential
backoff (:mod:`faq_core.retry`) on connection errors, 429 (honouring
``Retry-After``) and 5xx (honouring ``estimated_time`` on 503 loading), all
bounded by one retry budget, and one mapping from status codes to typed errors. Subclasses only say what the
request body is and how to read the vectors out of the reply.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

import numpy as np
import requests

from faq_core.embedders.base import Embedder
from faq_core.errors import (
    EmbeddingAuthError,
    EmbeddingError,
    EmbeddingInputError,
    EmbeddingNotFoundError,
    EmbeddingQuotaError,
    EmbeddingResponseError,
    EmbeddingUnavailableError,
)
from faq_core.retry import Attempt, Backoff, retry

log = logging.getLogger(__name__)

HF_ROUTER = "https://router.huggingface.co/hf-inference/models/{model}/pipeline/feature-extraction"
RETIRED_HOST = "api-inference.huggingface.co"
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504, 424})
BACKOFF = Backoff(first=0.5, cap=8.0, jitter=True)
MIN_ATTEMPT_TIMEOUT = 1.0


class _TryAgain(Exception):
    """An attempt failed in a way another may not: a connection error, a
    timeout, 429 or 5xx (``wait``: the seconds the service asked for)."""

    def __init__(self, cause: str, wait: float | None = None) -> None:
        super().__init__(cause)
        self.wait = wait


class HTTPEmbedder(Embedder):
    """Common HTTP behaviour; subclasses define ``_body`` and ``_vectors``."""

    backend = "http"

    def __init__(
        self,
        *,
        url: str,
        model_id: str,
        token: str | None = None,
        timeout: float = 30.0,
        connect_timeout: float = 5.0,
        retry_budget: float = 20.0,
        batch_size: int = 32,
        session: requests.Session | None = None,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__(model_id, batch_size=min(batch_size, 32))
        self.url = url
        self.timeout = timeout
        self.connect_timeout = connect_timeout
        self.retry_budget = retry_budget
        self._session = session or requests.Session()
        self._session.headers["User-Agent"] = "faq-bot/0.1"
        if token:
            self._session.headers["Authorization"] = f"Bearer {token}"
        self._sleep = sleep
        self._clock = clock

    # -- what subclasses define -------------------------------------------------
    def _body(self, texts: list[str]) -> dict[str, Any]:
        raise NotImplementedError

    def _vectors(self, payload: Any, n: int) -> np.ndarray:
        raise NotImplementedError

    # -- shared machinery -----------------------------------------------------------
    def _embed_batch(self, texts: list[str]) -> np.ndarray:
        return self._vectors(self._post(self._body(texts)), len(texts))

    @property
    def host(self) -> str:
        """The service's host, for messages (never the token)."""
        return urlsplit(self.url).netloc or self.url

    def describe(self) -> str:
        """A one-line, secret-free description for logs."""
        return f"{self.backend} embedder for {self.model_id} at {self.host}"

    def close(self) -> None:
        """Release pooled connections."""
        self._session.close()

    def _post(self, body: dict[str, Any]) -> Any:
        def attempt(attempt: Attempt) -> Any:
            read_timeout = max(MIN_ATTEMPT_TIMEOUT, min(self.timeout, attempt.remaining))
            try:
                response = self._session.post(self.url, json=body, timeout=(self.connect_timeout, read_timeout))
            except (requests.ConnectionError, requests.Timeout) as error:
                kind = "timed out" if isinstance(error, requests.Timeout) else "could not connect"
                raise _TryAgain(f"{kind} ({type(error).__name__})") from None
            if response.status_code < 300:
                return self._json(response)
            if response.status_code not in RETRY_STATUSES:
                raise self._error(response)
            raise _TryAgain(f"HTTP {response.status_code}{_detail(response)}", _server_wait(response))

        def give_up(error: BaseException, attempts: int) -> EmbeddingUnavailableError:
            return EmbeddingUnavailableError(
                f"the embedding service at {self.host} is unavailable: {error}; "
                f"gave up after {attempts} attempt(s) within {self.retry_budget:g}s"
            )

        def on_retry(error: BaseException, attempt: int, pause: float) -> None:
            log.warning("embedding request to %s failed (%s); retry %d in %.1fs", self.host, error, attempt, pause)

        return retry(attempt, retryable=lambda error: isinstance(error, _TryAgain), give_up=give_up,
                     backoff=BACKOFF, budget=self.retry_budget, asked_wait=lambda error: getattr(error, "wait", None),
                     on_retry=on_retry, sleep=self._sleep, clock=self._clock)

    def _json(self, response: requests.Response) -> Any:
        try:
            return response.json()
        except ValueError:
            raise EmbeddingResponseError(
                f"the embedding service at {self.host} answered HTTP {response.status_code} "
                "with a body that is not JSON"
            ) from None

    def _error(self, response: requests.Response) -> EmbeddingError:
        status = response.status_code
        detail = _detail(response)
        if status == 401:
            return EmbeddingAuthError(
                f"the embedding service at {self.host} refused the token (401){detail}: "
                "check HF_TOKEN", status=status)
        if status == 403:
            return EmbeddingAuthError(
                f"the token may not call the embedding service at {self.host} (403){detail}: "
                "give HF_TOKEN the 'Make calls to Inference Providers' permission", status=status)
        if status == 402:
            return EmbeddingQuotaError(
                f"the embedding service at {self.host} says the monthly credits are used up (402){detail}",
                status=status)
        if status == 410 or (status == 404 and RETIRED_HOST in self.url):
            return EmbeddingNotFoundError(
                f"{self.host} is retired (410): unset EMBEDDING_URL to use the Hugging Face router",
                status=status)
        if status == 404:
            return EmbeddingNotFoundError(
                f"the embedding service at {self.host} has no model {self.model_id} at that URL (404){detail}: "
                "check EMBEDDING_MODEL and EMBEDDING_URL", status=status)
        if status in (400, 413, 422):
            return EmbeddingInputError(
                f"the embedding service at {self.host} refused the input ({status}){detail}", status=status)
        return EmbeddingError(f"the embedding service at {self.host} answered HTTP {status}{detail}", status=status)


def _detail(response: requests.Response) -> str:
    """The service's own error message, short, for our messages."""
    try:
        payload = response.json()
    except ValueError:
        return ""
    message = payload.get("error") if isinstance(payload, dict) else None
    if isinstance(message, dict):
        message = message.get("message")
    if not isinstance(message, str) or not message.strip():
        return ""
    # A service may echo the credentials it refused: never pass them on.
    sent = response.request.headers.get("Authorization", "") if response.request is not None else ""
    token = str(sent).removeprefix("Bearer ").strip()
    if token:
        message = message.replace(token, "***")
    return f": {message.strip()[:200]}"


def _server_wait(response: requests.Response) -> float | None:
    """Seconds the server asked us to wait: ``Retry-After`` or ``estimated_time``."""
    header = response.headers.get("Retry-After")
    if header:
        try:
            return max(0.0, float(header))
        except ValueError:
            return None
    try:
        payload = response.json()
    except ValueError:
        return None
    if isinstance(payload, dict) and isinstance(payload.get("estimated_time"), (int, float)):
        return max(0.0, float(payload["estimated_time"]))
    return None


def as_matrix(payload: Any, n: int, host: str) -> np.ndarray:
    """Read a feature-extraction reply as ``(n, dim)``.

    Accepts 1-D (one text), 2-D (sentence vectors) and 3-D (token vectors,
    mean-pooled over each text's own tokens: the servers send each text's real
    tokens, so the count of token rows is the attention count).
    """
    if not isinstance(payload, list) or not payload:
        raise EmbeddingResponseError(f"the embedding service at {host} did not return a list of vectors")
    try:
        array = np.asarray(payload, dtype=np.float32)
    except (ValueError, TypeError):
        array = None  # ragged: token-level output with different lengths
    if array is not None and array.ndim == 1:
        if n != 1:
            raise EmbeddingResponseError(f"the embedding service at {host} returned one vector for {n} texts")
        return array[np.newaxis, :]
    if array is not None and array.ndim == 2:
        return array
    flat = [item for item in payload if isinstance(item, list) and item and not isinstance(item[0], list)]
    if len(flat) == len(payload) and len({len(item) for item in flat}) > 1:
        sizes = ", ".join(str(n) for n in sorted({len(item) for item in flat}))
        raise EmbeddingResponseError(f"the embedding service at {host} returned vectors of mixed dimension ({sizes})")
    rows = []
    for item in payload:
        try:
            tokens = np.asarray(item, dtype=np.float32)
        except (ValueError, TypeError):
            raise EmbeddingResponseError(f"the embedding service at {host} returned malformed vectors") from None
        if tokens.ndim != 2 or tokens.shape[0] == 0:
            raise EmbeddingResponseError(
                f"the embedding service at {host} returned {tokens.ndim}-D items; "
                "expected sentence vectors or token vectors")
        rows.append(tokens.mean(axis=0))
    if len({r.shape[0] for r in rows}) != 1:
        raise EmbeddingResponseError(f"the embedding service at {host} returned vectors of mixed dimension")
    return np.stack(rows)


class HFInferenceEmbedder(HTTPEmbedder):
    """The Hugging Face router's feature-extraction pipeline (or a dedicated
    Inference Endpoint given as ``EMBEDDING_URL``)."""

    backend = "hf-inference"

    def _body(self, texts: list[str]) -> dict[str, Any]:
        return {"inputs": texts, "normalize": True, "truncate": True}

    def _vectors(self, payload: Any, n: int) -> np.ndarray:
        return as_matrix(payload, n, self.host)


class TEIEmbedder(HFInferenceEmbedder):
    """text-embeddings-inference's ``POST /embed``: same body and reply shape."""

    backend = "tei"


class OpenAIEmbedder(HTTPEmbedder):
    """Any OpenAI-style ``POST /v1/embeddings`` server."""

    backend = "openai"

    def _body(self, texts: list[str]) -> dict[str, Any]:
        return {"input": texts, "model": self.model_id}

    def _vectors(self, payload: Any, n: int) -> np.ndarray:
        data = payload.get("data") if isinstance(payload, dict) else None
        if not isinstance(data, list):
            raise EmbeddingResponseError(f"the embedding service at {self.host} returned no 'data' list")
        try:
            ordered = sorted(data, key=lambda item: int(item.get("index", 0)))
            vectors = [item["embedding"] for item in ordered]
        except (AttributeError, KeyError, TypeError, ValueError):
            raise EmbeddingResponseError(
                f"the embedding service at {self.host} returned malformed 'data' items") from None
        return as_matrix(vectors, n, self.host)


def endpoint(base: str, suffix: str) -> str:
    """``base`` with ``suffix`` appended unless it already ends with it."""
    base = base.rstrip("/")
    return base if base.endswith(suffix) else base + suffix
