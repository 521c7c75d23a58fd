"""The commands that write an index folder store its precomputed state:
``index build`` writes ``state/``, and ``calibrate`` gives a folder built by
an older faq-bot (no ``state/``) the state it lacks."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from bot.cli.main import main
from faq_core.index import load_index
from faq_core.index_state import MANIFEST, STATE
from tests.faq_sources import sample_rows, write_source


def test_build_stores_the_state_and_calibrate_adds_it_to_an_old_folder(tmp_path: Path) -> None:
    source = write_source(tmp_path / "faqs.csv", sample_rows())
    folder = tmp_path / "index"
    assert main(["index", "build", str(source), "--out", str(folder)]) == 0
    assert (folder / STATE / MANIFEST).is_file() and load_index(folder).derived.not_used is None

    shutil.rmtree(folder / STATE)  # as an older faq-bot left it
    old = load_index(folder)
    assert old.derived.not_used is not None
    assert main(["calibrate", str(folder)]) == 0
    calibrated = load_index(folder)
    assert calibrated.derived.not_used is None and not calibrated.vectors.flags.writeable
    assert calibrated.texts == old.texts
    assert calibrated.meta.auto_threshold["threshold"] == pytest.approx(old.meta.auto_threshold["threshold"], abs=1e-5)
