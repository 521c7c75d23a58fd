"""Reloading indexes that carry their precomputed state (``state/``) and
indexes that do not: pushed through the real Hub client to the stand-in,
fetched back with their state, swapped in by the reloader, and answering as
an index whose set-up was computed on load."""

from __future__ import annotations

import dataclasses
import shutil
from pathlib import Path

import numpy as np
import pytest

from bot.serving.holder import ServingEngine
from bot.serving.reload import Check, Reloader
from bot.settings import BotSettings
from faq_core.embedders import LocalEmbedder
from faq_core.engine import FAQEngine
from faq_core.index import load_index
from faq_core.index_state import STATE
from faq_core.publish import push_folder
from tests.faq_sources import V2_MARK
from tests.stubs.hub_api import WRITE_TOKEN, HubStub

REPO = "acme/faq-state"
QUESTIONS = ["How do I sign up for Medicare?", "I lost my card", "What is the capital of France?",
             "how much is the part b premium"]


def summary(engine: FAQEngine | ServingEngine) -> list[tuple[str, list[str], list[float]]]:
    return [(a.outcome.value, [m.faq_id for m in a.matches], [round(m.score, 5) for m in a.matches])
            for a in engine.answer_many(QUESTIONS)]


def old_copy(folder: Path, out: Path) -> Path:
    """``folder`` as an older faq-bot wrote it (no ``state/``)."""
    shutil.copytree(folder, out)
    shutil.rmtree(out / STATE)
    return out


def test_a_pushed_index_is_fetched_with_its_state_and_answers_as_computed(
    hub: HubStub, revision_folders: dict[str, Path], local_embedder: LocalEmbedder, tmp_path: Path,
) -> None:
    commit = push_folder(revision_folders["v1"], REPO, token=WRITE_TOKEN, endpoint=hub.origin).commit
    assert any(name.startswith(f"{STATE}/") for name in hub.files(REPO, commit))
    fetched = load_index(REPO, commit, endpoint=hub.origin)
    assert fetched.derived.not_used is None and not fetched.vectors.flags.writeable
    computed = load_index(old_copy(revision_folders["v1"], tmp_path / "old"))
    assert computed.derived.not_used is not None
    got, expected = summary(FAQEngine(fetched, local_embedder)), summary(FAQEngine(computed, local_embedder))
    assert [(o, ids) for o, ids, _ in got] == [(o, ids) for o, ids, _ in expected]
    for (_, _, left), (_, _, right) in zip(got, expected, strict=True):
        np.testing.assert_allclose(left, right, atol=1e-4)


@pytest.mark.parametrize("new_has_state", [True, False])
def test_the_reloader_swaps_between_indexes_with_and_without_state(
    revision_folders: dict[str, Path], local_embedder: LocalEmbedder, tmp_path: Path, new_has_state: bool,
) -> None:
    served = old_copy(revision_folders["v1"], tmp_path / "served") if new_has_state else \
        Path(shutil.copytree(revision_folders["v1"], tmp_path / "served"))
    serving = ServingEngine(FAQEngine(load_index(served), local_embedder))
    reloader = Reloader(serving, dataclasses.replace(BotSettings.load(dotenv=False), faq_index=str(served)),
                        interval=3600)
    before = serving.revision
    source = revision_folders["v2"] if new_has_state else old_copy(revision_folders["v2"], tmp_path / "v2-old")
    shutil.rmtree(served)
    shutil.copytree(source, served)
    assert reloader.check_now() is Check.SWAPPED and serving.revision != before
    assert (serving.index.derived.not_used is None) is new_has_state
    assert serving.answer("How do I sign up for Medicare?").best.answer.endswith(V2_MARK)
    assert summary(serving) == summary(FAQEngine(load_index(source), local_embedder))
