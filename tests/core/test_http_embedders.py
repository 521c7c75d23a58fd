"""The HTTP embedders against the local stand-in servers, over real sockets.

Waiting is injected (``sleep``/``clock``) so retry tests record the delays the
client asked for instead of spending them; every request still goes over the
socket and is counted by the stub.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest
import requests

from faq_core.embedders import HFInferenceEmbedder, LocalEmbedder, OpenAIEmbedder, TEIEmbedder
from faq_core.embedders.http import HTTPEmbedder
from faq_core.errors import (
    EmbeddingAuthError,
    EmbeddingError,
    EmbeddingInputError,
    EmbeddingNotFoundError,
    EmbeddingQuotaError,
    EmbeddingResponseError,
    EmbeddingUnavailableError,
)
from faq_core.settings import DEFAULT_MODEL
from tests.conftest import TOKEN
from tests.core.conftest import FakeTime, closed_port
from tests.stubs.inference import InferenceStub, Reply

TEXTS = ["How do I sign up for Medicare?", "What is TRICARE ?", "How can Medicare help me?"]


@pytest.fixture()
def fake_time() -> FakeTime:
    return FakeTime()


def hf(stub: InferenceStub, fake: FakeTime | None = None, **kwargs: object) -> HFInferenceEmbedder:
    options: dict[str, object] = {"url": stub.router_url(), "model_id": DEFAULT_MODEL, "token": stub.token}
    if fake is not None:
        options.update(sleep=fake.sleep, clock=fake.clock)
    options.update(kwargs)
    return HFInferenceEmbedder(**options)  # type: ignore[arg-type]


@pytest.fixture()
def reference(local_embedder: LocalEmbedder) -> np.ndarray:
    return local_embedder.embed(TEXTS)


def test_plain_success_sends_the_router_body_and_the_token(
    inference_stub: InferenceStub, reference: np.ndarray
) -> None:
    vectors = hf(inference_stub).embed(TEXTS)
    np.testing.assert_allclose(vectors, reference, atol=1e-6)
    [request] = inference_stub.requests
    assert request.headers["authorization"] == f"Bearer {TOKEN}"
    assert request.body == {"inputs": TEXTS, "normalize": True, "truncate": True}


def test_503_loading_then_200_waits_estimated_time(
    inference_stub: InferenceStub, fake_time: FakeTime, reference: np.ndarray
) -> None:
    inference_stub.script(Reply(503, {"error": "Model is currently loading", "estimated_time": 3.5}))
    vectors = hf(inference_stub, fake_time).embed(TEXTS)
    np.testing.assert_allclose(vectors, reference, atol=1e-6)
    assert len(inference_stub.requests) == 2
    assert fake_time.sleeps == [3.5]


def test_429_honours_retry_after(inference_stub: InferenceStub, fake_time: FakeTime, reference: np.ndarray) -> None:
    inference_stub.script(
        Reply(429, {"error": "rate limited"}, headers={"Retry-After": "7"}),
        Reply(429, {"error": "rate limited"}, headers={"Retry-After": "2"}),
    )
    vectors = hf(inference_stub, fake_time, retry_budget=30).embed(TEXTS)
    np.testing.assert_allclose(vectors, reference, atol=1e-6)
    assert len(inference_stub.requests) == 3
    assert fake_time.sleeps == [7.0, 2.0]


def test_a_retry_after_date_falls_back_to_backoff(inference_stub: InferenceStub, fake_time: FakeTime) -> None:
    inference_stub.script(Reply(429, {"error": "busy"}, headers={"Retry-After": "Wed, 21 Oct 2015 07:28:00 GMT"}))
    hf(inference_stub, fake_time).embed(TEXTS)
    assert len(inference_stub.requests) == 2
    assert len(fake_time.sleeps) == 1 and 0.25 <= fake_time.sleeps[0] <= 0.5


def test_5xx_backoff_is_jittered_and_growing(inference_stub: InferenceStub, fake_time: FakeTime) -> None:
    inference_stub.script(*[Reply(502, {"error": "bad gateway"}) for _ in range(4)])
    hf(inference_stub, fake_time, retry_budget=60).embed(TEXTS)
    assert len(inference_stub.requests) == 5
    # Exponential from 0.5 s, each jittered into [50%, 100%] of its step.
    for attempt, delay in enumerate(fake_time.sleeps):
        step = 0.5 * 2**attempt
        assert step / 2 <= delay <= step


def test_retry_budget_bounds_the_attempts(inference_stub: InferenceStub, fake_time: FakeTime) -> None:
    inference_stub.script(*[Reply(503, {"error": "Service Unavailable"}) for _ in range(50)])
    with pytest.raises(EmbeddingUnavailableError) as caught:
        hf(inference_stub, fake_time, retry_budget=10).embed(TEXTS)
    attempts = len(inference_stub.requests)
    assert 2 <= attempts < 10
    assert sum(fake_time.sleeps) <= 10
    assert len(fake_time.sleeps) == attempts - 1
    message = str(caught.value)
    assert f"gave up after {attempts} attempt(s) within 10s" in message
    assert "HTTP 503" in message
    assert caught.value.retryable


def test_retry_after_beyond_the_budget_gives_up_at_once(inference_stub: InferenceStub, fake_time: FakeTime) -> None:
    inference_stub.script(Reply(429, {"error": "slow down"}, headers={"Retry-After": "120"}))
    with pytest.raises(EmbeddingUnavailableError, match="HTTP 429: slow down"):
        hf(inference_stub, fake_time, retry_budget=20).embed(TEXTS)
    assert len(inference_stub.requests) == 1
    assert fake_time.sleeps == []


def test_connection_refused_is_unavailable(fake_time: FakeTime) -> None:
    port = closed_port()
    embedder = HFInferenceEmbedder(
        url=f"http://127.0.0.1:{port}/hf-inference/models/x/pipeline/feature-extraction",
        model_id=DEFAULT_MODEL, token=TOKEN, retry_budget=3, sleep=fake_time.sleep, clock=fake_time.clock,
    )
    with pytest.raises(EmbeddingUnavailableError) as caught:
        embedder.embed(TEXTS)
    assert "could not connect" in str(caught.value)
    assert f"127.0.0.1:{port}" in str(caught.value)
    assert len(fake_time.sleeps) >= 1  # it did retry before giving up
    assert sum(fake_time.sleeps) <= 3


class TimeoutRecordingSession(requests.Session):
    """A real session that also records the ``timeout`` of every request."""

    def __init__(self) -> None:
        super().__init__()
        self.timeouts: list[object] = []

    def post(self, url: str | bytes, *args: Any, **kwargs: Any) -> requests.Response:  # type: ignore[override]
        self.timeouts.append(kwargs.get("timeout"))
        return super().post(url, *args, **kwargs)


def test_slow_response_beyond_the_read_timeout_is_unavailable(inference_stub: InferenceStub) -> None:
    inference_stub.script(*[Reply(200, [[0.0] * 384] * 3, delay=60.0) for _ in range(3)])
    session = TimeoutRecordingSession()
    embedder = hf(inference_stub, timeout=1.0, retry_budget=1.0, session=session)
    start = time.monotonic()
    with pytest.raises(EmbeddingUnavailableError, match="timed out"):
        embedder.embed(TEXTS)
    assert session.timeouts == [(5.0, 1.0)]  # connect and read timeouts, the read one from EMBEDDING_TIMEOUT
    # Gave up at the read timeout instead of waiting for the reply (60 s): a margin no busy machine reaches.
    assert time.monotonic() - start < 30
    assert len(inference_stub.requests) == 1


@pytest.mark.parametrize(
    ("reply", "error_type", "hint"),
    [
        (Reply(401, {"error": "Invalid credentials in Authorization header"}), EmbeddingAuthError, "check HF_TOKEN"),
        (Reply(403, {"error": "This authentication method does not have sufficient permissions"}),
         EmbeddingAuthError, "'Make calls to Inference Providers' permission"),
        (Reply(402, {"error": "You have exceeded your monthly included credits"}), EmbeddingQuotaError,
         "monthly credits are used up"),
        (Reply(404, {"error": "Model foo/bar does not exist"}), EmbeddingNotFoundError,
         "check EMBEDDING_MODEL and EMBEDDING_URL"),
        (Reply(410, {"error": "no longer supported"}), EmbeddingNotFoundError, "unset EMBEDDING_URL"),
        (Reply(413, {"error": "Payload Too Large"}), EmbeddingInputError, "refused the input (413): Payload Too Large"),
        (Reply(422, {"error": "Input validation error: inputs too long"}), EmbeddingInputError,
         "refused the input (422)"),
        (Reply(400, raw=b"<html>bad request</html>"), EmbeddingInputError, "refused the input (400)"),
    ],
)
def test_status_codes_map_to_typed_errors(
    inference_stub: InferenceStub, fake_time: FakeTime, reply: Reply, error_type: type[EmbeddingError], hint: str
) -> None:
    inference_stub.script(reply)
    with pytest.raises(error_type) as caught:
        hf(inference_stub, fake_time).embed(TEXTS)
    assert caught.value.status == reply.status
    assert hint in str(caught.value)
    assert not caught.value.retryable
    assert len(inference_stub.requests) == 1  # these are never retried
    assert fake_time.sleeps == []


def test_real_protocol_errors_from_the_stub(inference_stub: InferenceStub, fake_time: FakeTime) -> None:
    # A wrong token is refused by the stand-in the way the router refuses it.
    with pytest.raises(EmbeddingAuthError, match="401"):
        hf(inference_stub, fake_time, token="hf_wrong").embed(TEXTS)
    # An unknown model on the router.
    with pytest.raises(EmbeddingNotFoundError, match="404"):
        hf(inference_stub, fake_time, url=inference_stub.router_url("nobody/nothing")).embed(TEXTS)
    # The retired api-inference path answers 410.
    retired = f"{inference_stub.base_url}/pipeline/feature-extraction/{DEFAULT_MODEL}"
    with pytest.raises(EmbeddingNotFoundError, match="retired"):
        hf(inference_stub, fake_time, url=retired).embed(TEXTS)
    # Without the pipeline suffix the router runs sentence-similarity: 400.
    no_suffix = inference_stub.router_url().removesuffix("/pipeline/feature-extraction")
    with pytest.raises(EmbeddingInputError, match="SentenceSimilarityPipeline"):
        hf(inference_stub, fake_time, url=no_suffix).embed(TEXTS)


@pytest.mark.parametrize(
    ("reply", "match"),
    [
        (Reply(200, raw=b"{not json"), "not JSON"),
        (Reply(200, {"embeddings": []}), "did not return a list"),
        (Reply(200, [[0.1] * 10, [0.2] * 10, [0.3] * 10]), "dimension 10"),
        (Reply(200, [[0.1] * 384, [0.2] * 384]), "returned 2 vectors for 3 texts"),
        (Reply(200, [[0.1] * 384] * 2 + [[0.1] * 383]), r"returned vectors of mixed dimension \(383, 384\)"),
        (Reply(200, [[[0.1] * 384] * 2, [[0.1] * 383] * 2, [[0.1] * 384]]), "returned vectors of mixed dimension$"),
        (Reply(200, [[0.1] * 384, [0.2] * 384, [float("nan")] * 384]), "backend returned non-finite values"),
        (Reply(200, [["a"] * 384] * 3), "returned malformed vectors"),
        (Reply(200, [[[[0.1] * 384]]] * 3), "returned 3-D items; expected sentence vectors or token vectors"),
    ],
)
def test_unusable_2xx_bodies_are_response_errors(inference_stub: InferenceStub, reply: Reply, match: str) -> None:
    inference_stub.script(reply)
    with pytest.raises(EmbeddingResponseError, match=match):
        hf(inference_stub).embed(TEXTS)


def test_token_level_output_is_mean_pooled(local_embedder: LocalEmbedder, reference: np.ndarray) -> None:
    with InferenceStub(local_embedder.embed, token_level=True) as stub:
        vectors = hf(stub).embed(TEXTS)
    # The stub really sent 3-D, ragged output: 2, 3 and 4 token rows of 384 values per text,
    # none of them the sentence vector itself, so only mean pooling gives the reference back.
    assert len(stub.requests) == 1
    [sent] = stub.replies
    assert [len(tokens) for tokens in sent.body] == [2, 3, 4]
    assert all(len(row) == 384 for tokens in sent.body for row in tokens)
    assert not np.allclose(np.asarray(sent.body[0][0]), reference[0], atol=1e-3)
    np.testing.assert_allclose(vectors, reference, atol=1e-6)


def test_a_1d_reply_for_one_text(inference_stub: InferenceStub, reference: np.ndarray) -> None:
    inference_stub.script(Reply(200, reference[0].tolist()))
    vectors = hf(inference_stub).embed(TEXTS[:1])
    assert vectors.shape == (1, 384)
    np.testing.assert_allclose(vectors[0], reference[0], atol=1e-6)


def test_a_1d_reply_for_several_texts_is_refused(inference_stub: InferenceStub, reference: np.ndarray) -> None:
    inference_stub.script(Reply(200, reference[0].tolist()))
    with pytest.raises(EmbeddingResponseError, match="one vector for 3 texts"):
        hf(inference_stub).embed(TEXTS)


def test_unnormalised_replies_are_scaled_to_unit_rows(inference_stub: InferenceStub, reference: np.ndarray) -> None:
    inference_stub.script(Reply(200, (reference * 3.0).tolist()))
    np.testing.assert_allclose(hf(inference_stub).embed(TEXTS), reference, atol=1e-6)


def test_batches_hold_at_most_32_texts(inference_stub: InferenceStub, local_embedder: LocalEmbedder) -> None:
    texts = [f"question number {i}?" for i in range(70)]
    embedder = hf(inference_stub, batch_size=100)  # asked for more than the services accept
    vectors = embedder.embed(texts)
    assert [len(r.body["inputs"]) for r in inference_stub.requests] == [32, 32, 6]
    assert [t for r in inference_stub.requests for t in r.body["inputs"]] == texts
    np.testing.assert_allclose(vectors, local_embedder.embed(texts), atol=1e-6)


def test_a_configured_smaller_batch_is_kept(inference_stub: InferenceStub) -> None:
    hf(inference_stub, batch_size=2).embed(TEXTS)
    assert [len(r.body["inputs"]) for r in inference_stub.requests] == [2, 1]


def test_tei_and_openai_speak_their_own_protocols(inference_stub: InferenceStub, reference: np.ndarray) -> None:
    common = {"model_id": DEFAULT_MODEL, "token": TOKEN}
    tei = TEIEmbedder(url=f"{inference_stub.base_url}/embed", **common)  # type: ignore[arg-type]
    openai = OpenAIEmbedder(url=f"{inference_stub.base_url}/v1/embeddings", **common)  # type: ignore[arg-type]
    np.testing.assert_allclose(tei.embed(TEXTS), reference, atol=1e-6)
    # The stub sends the OpenAI 'data' items in reverse: the client sorts by index.
    np.testing.assert_allclose(openai.embed(TEXTS), reference, atol=1e-6)
    assert inference_stub.requests[0].body == {"inputs": TEXTS, "normalize": True, "truncate": True}
    assert inference_stub.requests[1].body == {"input": TEXTS, "model": DEFAULT_MODEL}


def test_openai_malformed_data_is_a_response_error(inference_stub: InferenceStub) -> None:
    openai = OpenAIEmbedder(url=f"{inference_stub.base_url}/v1/embeddings", model_id=DEFAULT_MODEL, token=TOKEN)
    inference_stub.script(Reply(200, {"data": [{"index": 0}]}))
    with pytest.raises(EmbeddingResponseError, match="malformed 'data'"):
        openai.embed(TEXTS[:1])
    inference_stub.script(Reply(200, {"object": "list"}))
    with pytest.raises(EmbeddingResponseError, match="no 'data' list"):
        openai.embed(TEXTS[:1])


@pytest.fixture()
def everything_logged(caplog: pytest.LogCaptureFixture) -> Iterator[pytest.LogCaptureFixture]:
    caplog.set_level(logging.DEBUG)
    yield caplog


def test_the_token_never_appears_in_errors_or_logs(
    inference_stub: InferenceStub, fake_time: FakeTime, everything_logged: pytest.LogCaptureFixture
) -> None:
    messages: list[str] = []
    scenarios: list[tuple[list[Reply], int]] = [
        ([Reply(401, {"error": f"token {TOKEN} is invalid"})], 1),  # even if the service echoes it
        ([Reply(403, {"error": "forbidden"})], 1),
        ([Reply(503, {"error": "loading", "estimated_time": 1.0})] * 30, 30),
        ([Reply(429, {"error": "busy"}, headers={"Retry-After": "1"})] * 30, 30),
        ([Reply(200, raw=b"oops")], 1),
    ]
    for replies, _ in scenarios:
        inference_stub.script(*replies)
        embedder = hf(inference_stub, fake_time, retry_budget=5)
        with pytest.raises(EmbeddingError) as caught:
            embedder.embed(TEXTS)
        messages.append(str(caught.value))
        messages.append(repr(caught.value))
        inference_stub._script.clear()
    messages.append(hf(inference_stub).describe())
    assert any("retry" in r.getMessage() for r in everything_logged.records)  # the retries were logged
    for text in [*messages, everything_logged.text]:
        assert TOKEN not in text


def test_describe_names_the_host_not_the_url_or_token(inference_stub: InferenceStub) -> None:
    embedder: HTTPEmbedder = hf(inference_stub)
    assert embedder.host == inference_stub.base_url.removeprefix("http://")
    assert embedder.describe() == f"hf-inference embedder for {DEFAULT_MODEL} at {embedder.host}"
