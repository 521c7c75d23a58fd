"""``/healthz`` (liveness) and ``/readyz`` (readiness) over HTTP: ready only
when the index is loaded, the model answers, the store answers ``SELECT 1``
and Slack accepts the token; 503 with the reasons otherwise; no local paths."""

from __future__ import annotations

import socket
from pathlib import Path

import requests
from slack_sdk import WebClient

from bot.ops.readiness import ModelCheck, Readiness
from bot.slack.app import build_app, drain
from bot.slack.http_server import BotHTTPServer
from bot.slack.readiness import slack_readiness
from bot.slack.settings import SlackSettings
from bot.store.database import Store
from faq_core.embedders import HFInferenceEmbedder, LocalEmbedder
from faq_core.engine import FAQEngine
from faq_core.index import FAQIndex
from tests.slack.conftest import RunningBot
from tests.slack.test_failures import remote_engine
from tests.stubs.inference import InferenceStub, Reply
from tests.stubs.slack_api import BOT_TOKEN, SlackAPIStub
from tests.stubs.slack_payloads import SIGNING_SECRET


def serve(settings: SlackSettings, engine: FAQEngine, store: Store, readiness: Readiness) -> BotHTTPServer:
    server = BotHTTPServer(build_app(settings, engine, store), engine, "127.0.0.1", 0,
                           signing_secret=SIGNING_SECRET, readiness=readiness)
    server.start_background()
    return server


def stop(server: BotHTTPServer) -> None:
    server.shutdown()
    server.server_close()
    drain(server.app)


def readyz(port: int) -> requests.Response:
    return requests.get(f"http://127.0.0.1:{port}/readyz", timeout=10)


def test_a_healthy_bot_is_ready_and_neither_probe_shows_a_local_path(
    bot: RunningBot, sample_index_dir: Path
) -> None:
    response = requests.get(bot.url + "/readyz", timeout=10)
    assert response.status_code == 200, response.text
    assert response.json() == {"ready": True, "checks": {"index": "ok", "model": "ok", "embedding": "ok",
                                                         "store": "ok", "slack": "ok"}}
    health = requests.get(bot.url + "/healthz", timeout=10)
    assert health.status_code == 200
    assert health.json()["index"] == bot.server.engine.info.display_name == sample_index_dir.name  # not its path
    for body in (response.text, health.text):
        assert str(sample_index_dir.parent) not in body and "/tmp" not in body


def test_store_and_slack_unreachable_make_the_bot_not_ready_with_reasons(
    settings: SlackSettings, engine: FAQEngine, store: Store
) -> None:
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        dead_port = probe.getsockname()[1]
    dead_slack = WebClient(token=BOT_TOKEN, base_url=f"http://127.0.0.1:{dead_port}/", timeout=1)
    dead_store = Store(f"postgresql://postgres@127.0.0.1:{dead_port}/none", upgrade=False)
    server = serve(settings, engine, store, slack_readiness(engine, dead_store, dead_slack))
    try:
        response = readyz(server.port)
        assert response.status_code == 503
        checks = response.json()["checks"]
        assert checks["index"] == "ok" and checks["model"] == "ok"
        assert checks["store"] == "the store is unreachable"
        assert checks["slack"].startswith("Slack is unreachable")
        assert requests.get(f"http://127.0.0.1:{server.port}/healthz", timeout=10).status_code == 200
    finally:
        stop(server)
        dead_store.close()


def test_a_failing_embedding_service_makes_the_bot_not_ready_until_it_answers(
    settings: SlackSettings, sample_index: FAQIndex, inference_stub: InferenceStub, store: Store,
    slack_api: SlackAPIStub,
) -> None:
    engine = remote_engine(sample_index, inference_stub.router_url(), token="hf_revoked_token")
    server = serve(settings, engine, store, slack_readiness(engine, store, WebClient(
        token=BOT_TOKEN, base_url=slack_api.base_url)))
    try:
        response = readyz(server.port)
        assert response.status_code == 503
        assert response.json()["checks"] == {"index": "ok", "model": "the embedding model failed (EmbeddingAuthError)",
                                             "embedding": "the embedding service failed (EmbeddingAuthError)",
                                             "store": "ok", "slack": "ok"}
        inference_stub.token = "hf_revoked_token"  # the service accepts it again
        assert readyz(server.port).status_code == 200
    finally:
        stop(server)


def test_a_check_that_hangs_fails_by_the_deadline_and_others_still_report() -> None:
    readiness = Readiness(deadline=0.2)
    readiness.add("fine", lambda: None)
    readiness.add("stuck", lambda: __import__("time").sleep(5))  # type: ignore[func-returns-value]
    readiness.add("broken", lambda: 1 / 0)  # type: ignore[func-returns-value]
    report = readiness.report()
    assert not report.ready
    assert report.as_json()["checks"] == {"fine": "ok", "stuck": "no answer within 0.2 s",
                                          "broken": "check failed: ZeroDivisionError"}
    readiness.close()


def test_the_model_check_reports_warming_up_until_the_first_embedding_is_done(
    sample_index: FAQIndex, inference_stub: InferenceStub, local_embedder: LocalEmbedder
) -> None:
    embedder = HFInferenceEmbedder(url=inference_stub.router_url(), model_id=sample_index.meta.model_id,
                                   token=inference_stub.token, timeout=10, connect_timeout=5, retry_budget=10)
    engine = FAQEngine(sample_index, embedder)
    inference_stub.script(Reply(200, local_embedder.embed(["warm-up"]).tolist(), delay=1.5))
    check = ModelCheck(engine, wait=0.1)
    assert check() == "the embedding model is warming up"
    check.wait = 5
    assert check() is None
    assert check() is None  # and stays ready without asking again
    assert len(inference_stub.requests) == 1
