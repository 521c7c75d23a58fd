"""Reloading: a new revision is picked up within the interval (Hub branch and
local folder), a broken or mismatched one is refused while the old keeps
answering, and questions asked during swaps are all answered by one
revision or the other. Waits are on the reloader's checks, never sleeps."""

from __future__ import annotations

import dataclasses
import json
import logging
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from bot.conversation.batching import QuestionBatcher
from bot.serving.holder import Companion, ServingEngine
from bot.serving.reload import Check, Reloader
from bot.settings import BotSettings
from faq_core.embedders import LocalEmbedder
from faq_core.engine import FAQEngine, load_configured_index
from faq_core.index import META_FILE, load_index, local_revision, save_index
from tests.faq_sources import NEW_FAQ, V2_MARK, sample_rows, upload
from tests.stubs.hub_api import HubStub

REPO = "acme/faq"
WAIT = 60.0  # generous: the machine is shared; a pass takes a fraction of it


def hub_settings(hub: HubStub, **changes: object) -> BotSettings:
    return dataclasses.replace(BotSettings.load(dotenv=False), **{"faq_index": REPO, "hf_endpoint": hub.origin,
                                                              **changes})  # type: ignore[arg-type]


def serving_at(location: str, revision: str | None, embedder: LocalEmbedder, endpoint: str | None = None
               ) -> ServingEngine:
    index = load_index(location, revision, endpoint=endpoint)
    return ServingEngine(FAQEngine(index, embedder))


def test_a_new_commit_on_the_branch_is_served_within_the_interval(
    hub: HubStub, revision_folders: dict[str, Path], local_embedder: LocalEmbedder
) -> None:
    v1 = upload(hub, REPO, revision_folders["v1"])
    serving = serving_at(REPO, v1, local_embedder, hub.origin)
    reloader = Reloader(serving, hub_settings(hub), interval=0.2)
    assert reloader.check_now() is Check.UNCHANGED
    reloader.start()
    try:
        v2 = upload(hub, REPO, revision_folders["v2"])
        assert reloader.wait_until(lambda: serving.revision == v2, WAIT)
    finally:
        reloader.stop()
    assert serving.answer("How do I sign up for Medicare?").best.answer.endswith(V2_MARK)
    assert serving.index.faq_by_id(NEW_FAQ["id"]) is not None and serving.swaps == 1
    asked = [r for r in hub.requests if r.path == f"/api/datasets/{REPO}/revision/main"]
    assert len(asked) >= 2  # dataset_info(...).sha, once per check


def test_a_pinned_commit_is_not_left_and_trigger_checks_at_once(
    hub: HubStub, revision_folders: dict[str, Path], local_embedder: LocalEmbedder
) -> None:
    v1 = upload(hub, REPO, revision_folders["v1"])
    serving = serving_at(REPO, v1, local_embedder, hub.origin)
    pinned = Reloader(serving, hub_settings(hub, faq_index_revision=v1), interval=3600)
    upload(hub, REPO, revision_folders["v2"])
    assert pinned.check_now() is Check.UNCHANGED and serving.revision == v1

    following = Reloader(serving, hub_settings(hub), interval=3600)  # an hour: only trigger() can be in time
    following.start()
    try:
        following.trigger()
        assert following.wait_until(lambda: serving.revision == hub.head(REPO), WAIT)
    finally:
        following.stop()


def test_a_broken_revision_is_refused_and_the_old_one_keeps_answering(
    hub: HubStub, revision_folders: dict[str, Path], local_embedder: LocalEmbedder, caplog: pytest.LogCaptureFixture
) -> None:
    v1 = upload(hub, REPO, revision_folders["v1"])
    serving = serving_at(REPO, v1, local_embedder, hub.origin)
    reloader = Reloader(serving, hub_settings(hub), interval=3600)
    files = dict(hub.files(REPO))
    files["phrasings/train.parquet"] = b"PAR1 this is not a parquet file"
    broken = hub.put_commit(REPO, files, "a broken upload")
    assert reloader.check_now() is Check.REFUSED
    assert serving.revision == v1 and broken in reloader.refused
    assert f"refused FAQ revision {broken}, still serving {v1}" in caplog.text
    assert serving.answer("How do I sign up for Medicare?").answered
    fetched = len(hub.requests)
    assert reloader.check_now() is Check.REFUSED  # remembered: not fetched again, only the branch is asked
    assert [r.path for r in hub.requests[fetched:]] == [f"/api/datasets/{REPO}/revision/main"]

    meta = json.loads(files["faq_index.json"])
    other_model = dict(hub.files(REPO, v1), **{"faq_index.json": json.dumps(
        dict(meta, model_id="BAAI/bge-small-en-v1.5")).encode()})
    mismatched = hub.put_commit(REPO, other_model, "built with another model")
    assert reloader.check_now() is Check.REFUSED and serving.revision == v1
    assert "BAAI/bge-small-en-v1.5" in reloader.refused[mismatched]

    fixed = upload(hub, REPO, revision_folders["v2"])
    assert reloader.check_now() is Check.SWAPPED and serving.revision == fixed and reloader.last_error is None


def test_an_unreachable_hub_keeps_the_old_revision(
    hub: HubStub, revision_folders: dict[str, Path], local_embedder: LocalEmbedder
) -> None:
    v1 = upload(hub, REPO, revision_folders["v1"])
    serving = serving_at(REPO, v1, local_embedder, hub.origin)
    reloader = Reloader(serving, hub_settings(hub, hf_endpoint="http://127.0.0.1:9"), interval=3600)
    assert reloader.check_now() is Check.UNREACHABLE and serving.revision == v1


def test_a_new_build_of_the_local_folder_is_served(
    tmp_path: Path, revision_folders: dict[str, Path], local_embedder: LocalEmbedder, caplog: pytest.LogCaptureFixture
) -> None:
    served = save_index(load_index(revision_folders["v1"]), tmp_path / "served")
    serving = serving_at(str(served), None, local_embedder)
    settings = dataclasses.replace(BotSettings.load(dotenv=False), faq_index=str(served))
    reloader = Reloader(serving, settings, interval=0.2)
    first = serving.revision
    # a folder's build has one name: the loaded index, the engine's info and the holder all say it
    assert first == local_revision(served) == serving.index.revision == serving.info.revision
    assert first.startswith("local-")
    caplog.set_level(logging.INFO, logger="bot.serving.reload")
    reloader.start()
    try:
        save_index(load_index(revision_folders["v2"]), served)  # what 'faq-bot index build --out served' does
        assert reloader.wait_until(lambda: serving.revision != first, WAIT)
    finally:
        reloader.stop()
    assert serving.revision == local_revision(served) == serving.index.revision
    assert f"now serving FAQ revision {serving.revision} (was {first})" in caplog.text
    assert serving.index.faq_by_id(NEW_FAQ["id"]) is not None
    (served / META_FILE).write_text("{not json")  # a broken build in place: refused, still serving
    assert reloader.check_now() is Check.REFUSED and serving.index.faq_by_id(NEW_FAQ["id"]) is not None


def test_200_questions_during_swaps_are_each_answered_by_one_revision(
    hub: HubStub, revision_folders: dict[str, Path], local_embedder: LocalEmbedder
) -> None:
    """Questions arrive from 8 threads through the batcher (as in the bot)
    while the served engine is swapped between v1 and v2 without pause and a
    real reload from the Hub swaps too: none fails, and every answer's matches
    all come from one revision (v2 marks every answer)."""
    v1 = upload(hub, REPO, revision_folders["v1"])
    serving = serving_at(REPO, v1, local_embedder, hub.origin)
    engines = [serving.current, FAQEngine(load_index(revision_folders["v2"]), local_embedder)]
    reloader = Reloader(serving, hub_settings(hub), interval=3600)
    batcher = QuestionBatcher(serving, k=3)
    questions = [row["question"] for row in sample_rows()] + [alt for row in sample_rows()
                                                              for alt in row["alternates"].split("|")]
    flipping, done = threading.Event(), threading.Event()
    reloads: list[Check] = []

    def flip() -> None:
        turn = 0
        while not done.is_set():
            serving.swap(engines[turn % 2], f"direct-{turn % 2}")
            turn += 1
            flipping.set()
            done.wait(0.001)  # a swap every millisecond, leaving the questions the interpreter

    def reload_from_the_hub() -> None:
        upload(hub, REPO, revision_folders["v2"])
        reloads.append(reloader.check_now())

    flipper, hub_reload = threading.Thread(target=flip), threading.Thread(target=reload_from_the_hub)
    flipper.start()
    hub_reload.start()
    try:
        assert flipping.wait(WAIT)
        swaps_before = serving.swaps
        with ThreadPoolExecutor(max_workers=8) as pool:
            answers = list(pool.map(lambda i: batcher.answer(questions[i % len(questions)]), range(200)))
        swaps_during = serving.swaps - swaps_before
        hub_reload.join(WAIT)
    finally:
        done.set()
        flipper.join()
        batcher.close()
    assert len(answers) == 200 and swaps_during > 0 and reloads == [Check.SWAPPED]
    for answer in answers:
        marks = {match.answer.endswith(V2_MARK) for match in answer.matches}
        assert len(marks) == 1, answer  # all matches from one revision


def test_an_engine_started_on_a_branch_knows_its_commit_so_the_first_check_loads_nothing(
    hub: HubStub, revision_folders: dict[str, Path], local_embedder: LocalEmbedder
) -> None:
    v1 = upload(hub, REPO, revision_folders["v1"])
    settings = hub_settings(hub)  # FAQ_INDEX_REVISION unset: follow main
    index = load_configured_index(settings, local_embedder)
    assert index.revision == v1 and index.display_name == f"{REPO}@{v1}"
    serving = ServingEngine(FAQEngine(index, local_embedder))
    downloads = sum(1 for r in hub.requests if "/resolve/" in r.path)
    assert Reloader(serving, settings, interval=3600).check_now() is Check.UNCHANGED
    assert sum(1 for r in hub.requests if "/resolve/" in r.path) == downloads


def test_companions_are_rebuilt_beside_each_swap_and_one_that_fails_refuses_the_revision(
    hub: HubStub, revision_folders: dict[str, Path], local_embedder: LocalEmbedder, caplog: pytest.LogCaptureFixture
) -> None:
    v1 = upload(hub, REPO, revision_folders["v1"])
    serving = serving_at(REPO, v1, local_embedder, hub.origin)
    count = Companion("faq-count", lambda engine: len(engine.index.faqs))
    assert serving.attach(count) == len(serving.index.faqs)
    reloader = Reloader(serving, hub_settings(hub), interval=3600)
    v2 = upload(hub, REPO, revision_folders["v2"])
    assert reloader.check_now() is Check.SWAPPED and serving.revision == v2
    served = serving.snapshot()
    assert served.companion(count) == len(served.engine.index.faqs) == serving.companion(count)
    assert serving.index.faq_by_id(NEW_FAQ["id"]) is not None

    def refuse_v1(engine: FAQEngine) -> int:
        if engine.index.faq_by_id(NEW_FAQ["id"]) is None:
            raise ValueError("cannot prepare this revision")
        return 1

    serving.attach(Companion("picky", refuse_v1))
    pinned = Reloader(serving, hub_settings(hub, faq_index_revision=v1), interval=3600)
    assert pinned.check_now() is Check.REFUSED
    assert serving.revision == v2 and serving.current is served.engine  # the old one, companions and all, serves
    assert serving.companion(count) == served.companion(count)
    assert "cannot prepare this revision" in pinned.refused[v1] and "refused FAQ revision" in caplog.text
    assert serving.answer("How do I sign up for Medicare?").best.answer.endswith(V2_MARK)
