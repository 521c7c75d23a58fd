"""``/readyz`` follows the embedding service, over real sockets: ready while
the text-embeddings-inference stand-in answers, 503 naming the embedding
check while it is down, ready again when it returns; and the check is a
cached probe (real questions count as probes), not a call per request."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator

import pytest
import requests
from slack_sdk import WebClient

from bot.ops import healthcheck
from bot.slack.http_server import BotHTTPServer
from bot.slack.readiness import slack_readiness
from bot.store.database import Store
from faq_core.embedders import make_embedder
from faq_core.engine import FAQEngine
from faq_core.errors import EmbeddingInputError
from faq_core.index import FAQIndex
from faq_core.settings import Settings
from tests.slack.test_readiness import serve as serve_with
from tests.slack.test_readiness import stop
from tests.stubs.inference import InferenceStub, Reply
from tests.stubs.slack_api import BOT_TOKEN, BOT_USER_ID, SlackAPIStub
from tests.stubs.slack_payloads import mention, signed_event

DOWN = "the embedding service failed (EmbeddingUnavailableError)"


def tei_engine(index: FAQIndex, stub: InferenceStub) -> FAQEngine:
    """An engine embedding through the TEI protocol at the stand-in, giving up quickly."""
    settings = Settings(embedding_backend="tei", embedding_url=stub.base_url, hf_token=stub.token,
                        embedding_retry_budget=0.3, embedding_timeout=2, embedding_connect_timeout=1)
    return FAQEngine(index, make_embedder(settings))


@pytest.fixture()
def serve(settings: Settings, store: Store, sample_index: FAQIndex, inference_stub: InferenceStub
          ) -> Iterator[Callable[..., BotHTTPServer]]:
    """Start the bot in HTTP mode, embedding through the TEI stand-in, with
    readiness probing the embedding service every ``every`` seconds."""
    servers: list[BotHTTPServer] = []

    def start(every: float) -> BotHTTPServer:
        engine = tei_engine(sample_index, inference_stub)
        client = WebClient(token=BOT_TOKEN, base_url=settings.slack_api_url)
        servers.append(serve_with(settings, engine, store,
                                  slack_readiness(engine, store, client, embedding_every=every)))
        return servers[-1]

    yield start
    for server in servers:
        stop(server)


def readyz(server: BotHTTPServer) -> requests.Response:
    return requests.get(f"http://127.0.0.1:{server.port}/readyz", timeout=10)


def test_readiness_goes_503_while_the_embedding_service_is_down_and_200_when_it_returns(
    serve: Callable[..., BotHTTPServer], inference_stub: InferenceStub, capsys: pytest.CaptureFixture[str]
) -> None:
    server = serve(every=0.2)
    assert readyz(server).status_code == 200
    inference_stub.down = True
    time.sleep(0.3)  # the last success is now older than the probe interval
    response = readyz(server)
    assert response.status_code == 503
    assert response.json() == {"ready": False, "checks": {"index": "ok", "model": "ok", "embedding": DOWN,
                                                          "store": "ok", "slack": "ok"}}
    assert inference_stub.base_url not in response.text  # the reason names the kind, never the URL
    # the container's HEALTHCHECK probe says the same, in one line, with exit status 1
    assert healthcheck.main([f"http://127.0.0.1:{server.port}/readyz"]) == 1
    assert capsys.readouterr().out == f"not ready (HTTP 503): embedding: {DOWN}\n"
    assert readyz(server).status_code == 503  # still down: a new probe, still failing
    inference_stub.down = False
    response = readyz(server)
    assert response.status_code == 200, response.text
    assert response.json()["checks"]["embedding"] == "ok"
    assert healthcheck.main([f"http://127.0.0.1:{server.port}/readyz"]) == 0


def test_the_probe_is_cached_and_real_questions_count_as_probes(
    serve: Callable[..., BotHTTPServer], inference_stub: InferenceStub, slack_api: SlackAPIStub
) -> None:
    server = serve(every=60.0)
    assert readyz(server).status_code == 200
    calls = len(inference_stub.requests)
    for _ in range(10):
        assert readyz(server).status_code == 200
    assert len(inference_stub.requests) == calls  # a readiness request is not an embedding call

    # a real question that fails marks the service down at once, without waiting for the interval
    inference_stub.down = True
    event = signed_event(mention(f"<@{BOT_USER_ID}> I lost my Medicare card"))
    requests.post(f"http://127.0.0.1:{server.port}/slack/events", data=event.body, headers=event.headers, timeout=10)
    slack_api.wait_calls("chat.postMessage")
    response = readyz(server)
    assert response.status_code == 503 and response.json()["checks"]["embedding"] == DOWN
    inference_stub.down = False
    assert readyz(server).status_code == 200


def test_a_question_the_service_refuses_does_not_make_the_bot_unready(
    serve: Callable[..., BotHTTPServer], inference_stub: InferenceStub
) -> None:
    server = serve(every=60.0)
    assert readyz(server).status_code == 200
    inference_stub.script(Reply(413, {"error": "Input validation error: inputs must have less than 512 tokens"}))
    with pytest.raises(EmbeddingInputError):
        server.engine.answer("a question the service finds too long")
    assert readyz(server).status_code == 200  # the service is fine; that question was not
