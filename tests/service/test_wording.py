"""What the bot shows people speaks of the served index, not of the bundled
Medicare sample: the usage help and App Home take their example question
from the index, the manifest is neutral, the App Home names an index without
the server's paths and says when the sample is served. A match's score is
worded the same, for what it is, in the terminal, Slack and Discord."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
import yaml

from bot import messages
from bot.cli.main import format_answer
from bot.conversation.payloads import AnswerRef
from bot.conversation.replies import answer_reply
from bot.discord import render as discord_render
from bot.slack.blocks import home_view, render, usage_reply
from faq_core.embedders import LocalEmbedder
from faq_core.engine import FAQEngine, IndexInfo
from faq_core.faqs import FAQ
from faq_core.index import build_index, load_index, save_index, served_index_name
from faq_core.threshold import with_auto_threshold

MANIFEST = Path(__file__).resolve().parents[2] / "manifest.yml"
SAMPLE_WORDS = ("medicare", "replacement card", "part b")


@pytest.fixture(scope="module")
def office_engine(tmp_path_factory: pytest.TempPathFactory, local_embedder: LocalEmbedder) -> FAQEngine:
    faqs = [FAQ("coffee", "Where is the `coffee` machine?", "Third floor."), FAQ("wifi", "What is the wifi password?")]
    folder = save_index(with_auto_threshold(build_index(faqs, local_embedder)),
                        tmp_path_factory.mktemp("srv") / "office-faqs")
    return FAQEngine(load_index(folder), local_embedder)


def _strings(node: Any) -> list[str]:
    if isinstance(node, dict):
        return [s for value in node.values() for s in _strings(value)]
    if isinstance(node, list):
        return [s for value in node for s in _strings(value)]
    return [node] if isinstance(node, str) else []


def test_usage_help_gives_an_example_from_the_served_index(office_engine: FAQEngine) -> None:
    reply = usage_reply("U0BOT", office_engine.info)
    shown = json.dumps(reply.blocks)
    # backticks would end the code span of `/faq ...`: they become quotes
    assert reply.text == "Ask me a question, for example: /faq Where is the 'coffee' machine?"
    assert "<@U0BOT> Where is the 'coffee' machine?" in shown and "`/faq Where is the 'coffee' machine?`" in shown
    assert not any(word in (reply.text + shown).lower() for word in SAMPLE_WORDS)
    neutral = usage_reply(None)
    assert neutral.text == "Ask me a question, for example: /faq your question"


def test_app_home_names_the_index_without_server_paths(office_engine: FAQEngine) -> None:
    info = office_engine.info
    assert info.source.endswith("office-faqs") and "/" in info.source
    shown = json.dumps(home_view(info, "U0BOT"))
    assert "FAQ index: `office-faqs`" in shown
    assert info.source not in shown and str(Path(info.source).parent) not in shown
    assert "Where is the 'coffee' machine?" in shown
    assert not any(word in shown.lower() for word in SAMPLE_WORDS)
    assert "built-in sample" not in shown


def test_app_home_says_when_the_bundled_sample_is_served(office_engine: FAQEngine) -> None:
    shown = json.dumps(home_view(replace(office_engine.info, bundled_sample=True), None))
    assert messages.HOME_SAMPLE.format(faq_count=2) in json.loads(shown)["blocks"][2]["text"]["text"]
    assert "FAQ_INDEX" in shown


def test_display_names_never_show_a_local_path(tmp_path: Path) -> None:
    assert served_index_name("acme/support-faqs", "1f3c2a9") == "acme/support-faqs@1f3c2a9"
    assert served_index_name("acme/support-faqs", None) == "acme/support-faqs@latest"
    (tmp_path / "acme" / "support-faqs").mkdir(parents=True)
    assert served_index_name(str(tmp_path / "acme" / "support-faqs"), None) == "support-faqs"
    assert served_index_name(str(tmp_path / "srv" / "my-index") + "/", None) == "my-index"
    assert served_index_name(str(tmp_path), "v1", bundled_sample=True) == "the bundled Medicare sample"
    info = IndexInfo(source="/srv/data/indexes/medicare", revision=None, faq_count=1, phrasing_count=1,
                     model_id="m", backend="local", threshold=0.4)
    assert info.display_name == "medicare"  # what the App Home and a health check show


def test_the_manifest_speaks_of_no_particular_subject() -> None:
    manifest = yaml.safe_load(MANIFEST.read_text(encoding="utf-8"))
    texts = " ".join(_strings(manifest)).lower()
    assert not any(word in texts for word in SAMPLE_WORDS)
    assert manifest["features"]["slash_commands"][0]["usage_hint"] == "your question"


def test_a_matchs_score_says_what_it_is_alike_in_the_terminal_slack_and_discord(engine: FAQEngine) -> None:
    """A runner-up close in wording to the question gets almost none of the
    bot's confidence: every front end shows the one label, "<1% confidence",
    beside it, never a bare "0%" that reads as "unrelated"."""
    answer = engine.answer("My Medicare card got damaged, can I get a new one?")
    best, runner_up = answer.matches[0], answer.matches[1]
    assert answer.answered and runner_up.cosine is not None and runner_up.cosine > 0.4
    assert 0 < runner_up.score < 0.005 and runner_up.score_label == "<1% confidence"
    assert best.score_label == f"{answer.confidence * 100:.0f}% confidence"  # the top one's is the confidence
    table = format_answer(answer)
    assert f"  {best.score_label}  {best.question}" in table
    assert f"  <1% confidence  {runner_up.question}" in table and " 0% " not in table
    content = answer_reply(answer, AnswerRef.from_answer(answer))
    assert [f.score for f in content.faqs + content.others] == [m.score_label for m in answer.matches[:3]]
    slack = json.dumps(render(content).blocks, ensure_ascii=False)
    assert f"{best.score_label} · <https://www.medicare.gov/|Source>" in slack
    assert f"{runner_up.question} — &lt;1% confidence" in slack  # "<" escaped: it would start Slack markup
    embed = discord_render.render(content)["embeds"][0]
    assert f"{best.score_label} · [Source](https://www.medicare.gov/)" in embed["description"]
    assert f"{runner_up.question} — <1% confidence" in embed["fields"][0]["value"]
