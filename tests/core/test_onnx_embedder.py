"""The default local backend, ONNX Runtime: the same vectors as
sentence-transformers, an ONNX file made once and keyed by the weights, and a
fallback to sentence-transformers (one log line) when it cannot be had."""

from __future__ import annotations

import csv
import hashlib
import logging
import os
import shutil
from pathlib import Path

import numpy as np
import pytest

import faq_core.embedders.onnx_local as onnx_local
from faq_core.embedders import LocalEmbedder, OnnxEmbedder, make_embedder
from faq_core.embedders.local import PACKAGED_MODEL, model_location
from faq_core.embedders.onnx_local import mean_pool
from faq_core.embedders.onnx_model import cached_onnx_path, weights_digest
from faq_core.settings import DEFAULT_MODEL, load_settings
from tests.core.test_seed_vectors import TEXTS, assert_seed_rows

BANKING77 = Path(__file__).resolve().parents[3] / "shared" / "data" / "banking77" / "test.csv"
MODEL_DIR = Path(model_location(PACKAGED_MODEL))


def test_onnx_reproduces_the_seed_rows(onnx_embedder: OnnxEmbedder) -> None:
    assert_seed_rows(onnx_embedder.embed(TEXTS))


def test_idle_onnx_threads_do_not_spin(onnx_embedder: OnnxEmbedder) -> None:
    onnx_embedder.warm_up()
    options = onnx_embedder._session.get_session_options()
    assert options.get_session_config_entry("session.intra_op.allow_spinning") == "0"


def test_local_means_onnx_and_local_torch_means_sentence_transformers() -> None:
    onnx = make_embedder(load_settings({"EMBEDDING_BACKEND": "local"}))
    torch = make_embedder(load_settings({"EMBEDDING_BACKEND": "local-torch"}))
    assert isinstance(onnx, OnnxEmbedder) and onnx.backend == "local"
    assert isinstance(torch, LocalEmbedder) and not isinstance(torch, OnnxEmbedder) and torch.backend == "local"
    auto = make_embedder(load_settings({}))
    assert isinstance(auto, OnnxEmbedder)


def test_agrees_with_sentence_transformers_on_awkward_texts(onnx_embedder: OnnxEmbedder,
                                                              local_embedder: LocalEmbedder) -> None:
    texts = ["", "a", "word " * 400, "ÉCOLE  Straße naïve café 東京 😀", "  padded  ", "?" * 50,
             "How do I get a replacement Medicare card?"] * 5  # several batches of mixed lengths
    onnx_embedder.batch_size = 4
    try:
        ours = onnx_embedder.embed(texts)
    finally:
        onnx_embedder.batch_size = 32
    reference = local_embedder.embed(texts)
    assert ours.dtype == np.float32 and ours.shape == reference.shape and ours.flags.c_contiguous
    assert np.min(np.sum(ours * reference, axis=1)) >= 0.9999


@pytest.mark.skipif(not BANKING77.is_file(), reason="BANKING77 (../shared/data/banking77) is not beside the checkout")
def test_agrees_with_sentence_transformers_over_banking77(onnx_embedder: OnnxEmbedder,
                                                          local_embedder: LocalEmbedder) -> None:
    with BANKING77.open(encoding="utf-8", newline="") as handle:
        texts = sorted({row["text"] for row in csv.DictReader(handle)})
    assert len(texts) > 3000
    cosines = np.sum(onnx_embedder.embed(texts) * local_embedder.embed(texts), axis=1)
    assert float(cosines.min()) >= 0.9999


def test_mean_pool_counts_only_real_tokens() -> None:
    tokens = np.array([[[1.0, 2.0], [3.0, 4.0], [100.0, 100.0]],
                       [[5.0, 6.0], [100.0, 100.0], [100.0, 100.0]]], dtype=np.float32)
    mask = np.array([[1, 1, 0], [1, 0, 0]])
    np.testing.assert_array_equal(mean_pool(tokens, mask), [[2.0, 3.0], [5.0, 6.0]])
    assert mean_pool(tokens, np.zeros((2, 3), dtype=np.int64)).tolist() == [[0.0, 0.0], [0.0, 0.0]]


def test_the_onnx_file_is_made_once_and_reused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                               onnx_embedder: OnnxEmbedder) -> None:
    shared = cached_onnx_path(PACKAGED_MODEL, MODEL_DIR, Path(os.environ["FAQ_CACHE_DIR"]))
    assert shared.is_file()  # the session fixture made it in the (fresh) session cache
    cache = tmp_path / "cache"
    target = cached_onnx_path(PACKAGED_MODEL, MODEL_DIR, cache)
    target.parent.mkdir(parents=True)
    shutil.copyfile(shared, target)

    def no_export(*args: object) -> Path:
        raise AssertionError("exported again")

    monkeypatch.setattr("faq_core.embedders.onnx_model.export_onnx", no_export)
    embedder = OnnxEmbedder(DEFAULT_MODEL, cache_dir=cache)
    np.testing.assert_allclose(embedder.embed(TEXTS), onnx_embedder.embed(TEXTS), atol=1e-6)
    assert embedder.runtime == "onnx"


def test_the_cache_is_keyed_by_the_weights(tmp_path: Path) -> None:
    model = tmp_path / "model"
    model.mkdir()
    (model / "model.safetensors").write_bytes(b"weights one")
    first = cached_onnx_path("org/model", model, tmp_path / "cache")
    assert first == cached_onnx_path("org/model", model, tmp_path / "cache")
    os.utime(model / "model.safetensors", ns=(1, 1))  # a digest is remembered by path, size and mtime
    (model / "model.safetensors").write_bytes(b"weights two")
    second = cached_onnx_path("org/model", model, tmp_path / "cache")
    assert second != first and second.parent.parent == first.parent.parent == tmp_path / "cache" / "onnx"
    assert second.parent.name.startswith("org-model-")
    memo = tmp_path / "cache" / "onnx" / "weights-sha256.json"
    assert hashlib.sha256(b"weights two").hexdigest() in memo.read_text()


def test_a_remembered_digest_spares_hashing_and_a_changed_file_is_hashed_again(tmp_path: Path) -> None:
    model = tmp_path / "model"
    model.mkdir()
    weights = model / "model.safetensors"
    weights.write_bytes(b"weights one")
    memo = tmp_path / "digests.json"
    assert weights_digest(model, memo) == hashlib.sha256(b"weights one").hexdigest()
    # The memo is what answers for an unchanged file (here, deliberately, a different value).
    memo.write_text(memo.read_text().replace(hashlib.sha256(b"weights one").hexdigest(), "remembered"))
    assert weights_digest(model, memo) == "remembered"
    weights.write_bytes(b"weights 2!!")  # same size, new mtime
    os.utime(weights, ns=(10**18, 10**18))
    assert weights_digest(model, memo) == hashlib.sha256(b"weights 2!!").hexdigest()
    memo.write_text("{not json")
    assert weights_digest(model, memo) == hashlib.sha256(b"weights 2!!").hexdigest()


def test_without_an_onnx_model_it_falls_back_with_one_log_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture, local_embedder: LocalEmbedder
) -> None:
    def no_torch(*args: object) -> Path:
        raise ModuleNotFoundError("No module named 'torch'")

    monkeypatch.setattr(onnx_local, "ensure_onnx", no_torch)
    embedder = OnnxEmbedder(DEFAULT_MODEL, cache_dir=tmp_path / "cache")
    with caplog.at_level(logging.INFO):
        vectors = embedder.embed(TEXTS)
        embedder.embed(["again"])
    assert embedder.runtime == "sentence-transformers"
    warnings = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert len(warnings) == 1
    assert "No module named 'torch'" in warnings[0].getMessage() and "sentence-transformers" in warnings[0].getMessage()
    np.testing.assert_allclose(vectors, local_embedder.embed(TEXTS), atol=1e-6)


def test_a_corrupt_cached_file_falls_back(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    cache = tmp_path / "cache"
    target = cached_onnx_path(PACKAGED_MODEL, MODEL_DIR, cache)
    target.parent.mkdir(parents=True)
    target.write_bytes(b"this is not an ONNX model")
    embedder = OnnxEmbedder(DEFAULT_MODEL, cache_dir=cache)
    with caplog.at_level(logging.WARNING):
        assert_seed_rows(embedder.embed(TEXTS))
    assert embedder.runtime == "sentence-transformers"
    assert any("ONNX model for" in r.getMessage() for r in caplog.records)


def test_the_install_step_reports_the_cached_file(tmp_path: Path) -> None:
    import subprocess
    import sys

    from tests.conftest import share_onnx_model

    cache = share_onnx_model(tmp_path / "cache")
    proc = subprocess.run([sys.executable, "-m", "faq_core.onnx_export", "--cache-dir", str(cache)],
                          capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == f"ONNX model ready: {cached_onnx_path(PACKAGED_MODEL, MODEL_DIR, cache)}"
