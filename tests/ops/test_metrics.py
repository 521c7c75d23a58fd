"""``GET /metrics`` over a real socket, after real traffic through the bot in
HTTP mode: every family the operators' dashboards need is there and counts
what happened (questions by platform and outcome, confidence, embedding /
ranking / reply latency, Slack API and embedding errors by kind, votes,
intake depth, the index served); no question text, user id, channel or
secret ever appears in it."""

from __future__ import annotations

import requests
from prometheus_client.parser import text_string_to_metric_families

from bot.ops.metrics import Metrics
from bot.slack import blocks
from bot.slack.settings import SlackSettings
from bot.store.database import Store
from faq_core.engine import FAQEngine
from faq_core.index import FAQIndex
from tests.slack.conftest import start_bot, stop_bot
from tests.slack.test_failures import remote_engine
from tests.stubs.inference import InferenceStub
from tests.stubs.slack_api import BOT_TOKEN, BOT_USER_ID, Scripted, SlackAPIStub
from tests.stubs.slack_payloads import (
    CHANNEL,
    SIGNING_SECRET,
    USER,
    button_click,
    buttons,
    mention,
    signed_action,
    signed_event,
)

MENTION = f"<@{BOT_USER_ID}>"
Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


def parse(text: str) -> Samples:
    """Every sample of an exposition (parsed by prometheus_client), by name and sorted labels."""
    return {(sample.name, tuple(sorted(sample.labels.items()))): sample.value
            for family in text_string_to_metric_families(text) for sample in family.samples}


def scrape(url: str) -> tuple[Samples, str]:
    response = requests.get(url + "/metrics", timeout=10)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain; version=")  # the Prometheus text format
    return parse(response.text), response.text


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


def test_metrics_count_questions_latencies_votes_and_slack_errors(
    settings: SlackSettings, engine: FAQEngine, store: Store, slack_api: SlackAPIStub
) -> None:
    metrics = Metrics()
    bot = start_bot(settings, engine, store, metrics=metrics)
    try:
        before, _ = scrape(bot.url)
        assert value(before, "faq_bot_intake_depth") == 0
        [info] = [dict(labels) for (name, labels) in before if name == "faq_bot_index_info"]
        assert info == {"name": engine.info.display_name, "revision": engine.index.revision,
                        "backend": engine.info.backend, "model": "sentence-transformers/all-MiniLM-L6-v2", "faqs": "13"}
        assert info["revision"].startswith("local-")  # a folder's build, named as everywhere

        for question in ("I lost my Medicare card", "How do I sign up for Medicare?", "What's the capital of France?"):
            assert bot.send(signed_event(mention(f"{MENTION} {question}"))).status_code == 200
        posts = slack_api.wait_calls("chat.postMessage", count=3)
        bot.settle()
        answered = next(p for p in posts if "replacement Medicare card" in p.params["text"])
        helpful = buttons(answered.params["blocks"])[blocks.HELPFUL]
        click = button_click(helpful, response_url=slack_api.response_url("vote"), user="UALICE01",
                             message=answered.response["message"])
        assert bot.send(signed_action(click)).status_code == 200
        slack_api.wait_calls("chat.update")
        # Slack refuses the next reply: counted by its error code
        slack_api.script("chat.postMessage", Scripted(200, {"ok": False, "error": "channel_not_found"}))
        assert bot.send(signed_event(mention(f"{MENTION} How can Medicare help me?"))).status_code == 200
        slack_api.wait_calls("chat.postMessage", count=4)
        bot.settle()
        after, text = scrape(bot.url)
    finally:
        stop_bot(bot)

    answered_n = value(after, "faq_bot_questions_total", platform="slack", outcome="answered")
    abstained_n = value(after, "faq_bot_questions_total", platform="slack", outcome="abstained")
    assert answered_n >= 2 and abstained_n >= 1 and answered_n + abstained_n == 4
    assert value(after, "faq_bot_answer_confidence_count") == 4
    assert value(after, "faq_bot_answer_confidence_bucket", le="1.0") == 4
    assert value(after, "faq_bot_answer_seconds_count", platform="slack") == 4
    assert value(after, "faq_bot_embedding_seconds_count") >= 1  # batched questions share a call
    assert value(after, "faq_bot_ranking_seconds_count") >= 1
    assert value(after, "faq_bot_reply_seconds_count", kind="app_mention") == 3  # the refused one is not done
    assert value(after, "faq_bot_intake_outcomes_total", outcome="done") == 4  # three replies and the vote
    assert value(after, "faq_bot_intake_outcomes_total", outcome="failed") == 1
    assert value(after, "faq_bot_votes_total", platform="slack", vote="helpful") == 1
    assert value(after, "faq_bot_platform_api_errors_total", platform="slack", kind="channel_not_found") == 1
    assert value(after, "faq_bot_intake_depth") == 0
    for private in ("UALICE01", USER, CHANNEL, "capital of France", "Medicare card", BOT_TOKEN, SIGNING_SECRET):
        assert private not in text
    # the engine is shared by the tests: stopping the app unhooked the metrics from it
    assert metrics.stage not in engine.stage_observers


def test_embedding_errors_are_counted_by_kind(
    settings: SlackSettings, store: Store, slack_api: SlackAPIStub, sample_index: FAQIndex,
    inference_stub: InferenceStub,
) -> None:
    engine = remote_engine(sample_index, inference_stub.router_url(), token="hf_wrong_token")
    metrics = Metrics()
    bot = start_bot(settings, engine, store, metrics=metrics)
    try:
        assert bot.send(signed_event(mention(f"{MENTION} I lost my Medicare card"))).status_code == 200
        slack_api.wait_calls("chat.postMessage")
        bot.settle()
        samples, _ = scrape(bot.url)
    finally:
        stop_bot(bot)
    assert value(samples, "faq_bot_embedding_errors_total", kind="EmbeddingAuthError") == 1
    assert value(samples, "faq_bot_questions_total", platform="slack", outcome="error") == 1
    assert value(samples, "faq_bot_answer_confidence_count") == 0


def test_an_unreachable_store_makes_the_depth_unknown_not_the_scrape_fail() -> None:
    metrics = Metrics()

    def down() -> int:
        raise OSError("connection refused")

    metrics.watch_intake(down)
    samples = parse(metrics.render().decode())
    depth = value(samples, "faq_bot_intake_depth")
    assert depth != depth  # NaN


def test_metrics_and_readiness_keep_listening_after_a_reload_swaps_the_engine(engine: FAQEngine) -> None:
    from bot.serving.holder import ServingEngine

    old = FAQEngine(engine.index, engine.embedder)
    serving = ServingEngine(old)
    metrics = Metrics()
    serving.stage_observers.append(metrics.stage)
    metrics.serving(lambda: serving.info)
    serving.answer("a question asked before the reload")
    new = FAQEngine(engine.index, engine.embedder)
    serving.swap(new, "r2")
    serving.answer("a question asked after the reload")
    samples = parse(metrics.render().decode())
    assert value(samples, "faq_bot_embedding_seconds_count") == 2  # the new engine's call was heard too
    assert metrics.stage in new.stage_observers


def test_plug_hears_the_answerer_and_the_engine_and_unplug_releases_the_engine(engine: FAQEngine,
                                                                               store: Store) -> None:
    from bot.conversation.answering import Answerer, Asked
    from bot.serving.holder import ServingEngine
    from bot.store.intake import Intake

    serving = ServingEngine(FAQEngine(engine.index, engine.embedder))
    answerer = Answerer(serving)
    metrics = Metrics()
    unplug = metrics.plug(answerer, serving, Intake(store))
    answerer.reply(engine.index.faqs[0].question, bot_user_id=None, asked=Asked("discord", "dm"))
    samples = parse(metrics.render().decode())
    assert value(samples, "faq_bot_embedding_seconds_count") == 1
    assert value(samples, "faq_bot_intake_depth") == 0
    assert value(samples, "faq_bot_questions_total", platform="discord", outcome="answered") == 1
    unplug()
    assert metrics.stage not in serving.stage_observers, "a stopped bot leaves the engine it shared"
    unplug()  # twice is harmless: a drain after a failed start
