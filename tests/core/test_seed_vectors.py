"""The seed article printed six rows of its embedding matrix (first and last
three values of FAQs 1, 2, 3, 11, 12 and 13). The local model must reproduce
them, and so must every HTTP backend talking to the stand-in servers."""

from __future__ import annotations

import numpy as np
import pytest

from faq_core.embedders import Embedder, LocalEmbedder, make_embedder
from faq_core.settings import load_settings
from tests.stubs.inference import InferenceStub

# (FAQ text, first three values, last three values), verbatim from the article.
SEED_ROWS = [
    ("How do I get a replacement Medicare card?",
     [-0.02388945, 0.05525852, -0.01165488], [0.00577787, 0.03409787, -0.0068891]),
    ("What is the monthly premium for Medicare Part B?",
     [-0.0126876, 0.04687412, -0.01050217], [-0.02310316, -0.00278466, 0.01047371]),
    ("How do I terminate my Medicare Part B (medical insurance)?",
     [0.00049438, 0.11941205, 0.00522949], [0.01687654, -0.02386115, 0.00526433]),
    ("Will my Medicare premiums be higher because of my higher income?",
     [-0.03900796, -0.01060951, -0.00738271], [-0.08390449, 0.03768405, 0.00231361]),
    ("What is TRICARE ?",
     [-0.09598278, -0.06301168, -0.11690582], [0.00549841, 0.1528919, 0.02472013]),
    # The original used a curly apostrophe; with a straight one the vector differs.
    ("Should I sign up for Medicare Part B if I have Veterans’ Benefits?",
     [-0.01162949, 0.05961934, 0.01650903], [-0.02821241, -0.00116556, 0.0010672]),
]
TEXTS = [text for text, _, _ in SEED_ROWS]
EXPECTED = np.array([first + last for _, first, last in SEED_ROWS])


def assert_seed_rows(vectors: np.ndarray) -> None:
    assert vectors.dtype == np.float32
    assert vectors.shape == (len(SEED_ROWS), 384)
    got = np.concatenate([vectors[:, :3], vectors[:, -3:]], axis=1)
    np.testing.assert_allclose(got, EXPECTED, atol=1e-5, rtol=0)
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-6)


def test_local_backend_reproduces_the_printed_rows(local_embedder: LocalEmbedder) -> None:
    assert_seed_rows(local_embedder.embed(TEXTS))


def test_the_curly_apostrophe_matters(local_embedder: LocalEmbedder) -> None:
    straight = local_embedder.embed(["Should I sign up for Medicare Part B if I have Veterans' Benefits?"])[0]
    assert np.max(np.abs(np.concatenate([straight[:3], straight[-3:]]) - EXPECTED[-1])) > 1e-3


@pytest.mark.parametrize("backend", ["hf-inference", "tei", "openai"])
def test_http_backends_bring_back_the_same_vectors(inference_stub: InferenceStub, backend: str) -> None:
    url = inference_stub.router_url() if backend == "hf-inference" else inference_stub.base_url
    embedder: Embedder = make_embedder(
        load_settings({"EMBEDDING_BACKEND": backend, "EMBEDDING_URL": url, "HF_TOKEN": inference_stub.token})
    )
    assert embedder.backend == backend
    assert_seed_rows(embedder.embed(TEXTS))
    expected_path = {
        "hf-inference": "/hf-inference/models/sentence-transformers/all-MiniLM-L6-v2/pipeline/feature-extraction",
        "tei": "/embed",
        "openai": "/v1/embeddings",
    }[backend]
    [request] = inference_stub.requests
    assert request.path == expected_path
    key = "input" if backend == "openai" else "inputs"
    assert request.body[key] == TEXTS
