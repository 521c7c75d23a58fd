"""The default ``local`` backend: the model run by ONNX Runtime on this machine.

Same vectors as sentence-transformers (cosine >= 0.9999 on every text we
test), at a fraction of the start-up cost: importing onnxruntime and
tokenizers takes a fraction of a second where sentence-transformers pulls in
torch, scipy and scikit-learn. The steps are those of the model's
sentence-transformers pipeline (``modules.json``): the model's own
``tokenizer.json`` (lower-casing, word pieces, truncation at the model's
``max_seq_length``), the transformer (the cached ONNX file of
:mod:`faq_core.embedders.onnx_model`), mean pooling over the attention mask,
and normalisation to unit length.

If the ONNX file cannot be produced or run (no onnxruntime, no torch to
export it, a broken file), the embedder says so in one log line and falls back
to sentence-transformers, so ``EMBEDDING_BACKEND=local`` keeps working.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from faq_core.embedders.base import Embedder
from faq_core.embedders.local import LocalEmbedder, model_location
from faq_core.embedders.onnx_model import INPUTS, ensure_onnx

log = logging.getLogger(__name__)

DEFAULT_MAX_TOKENS = 512  # BERT's position limit, when the model folder does not say


def mean_pool(token_vectors: np.ndarray, attention_mask: np.ndarray) -> np.ndarray:
    """Average of each text's token vectors over its real (unmasked) tokens,
    as sentence-transformers' ``Pooling(mode="mean")``: ``(batch, dim)``."""
    mask = attention_mask.astype(np.float32)[:, :, np.newaxis]
    summed = np.einsum("btd,btk->bd", token_vectors, mask)
    counts = np.maximum(mask.sum(axis=1), np.float32(1e-9))
    return np.asarray(summed / counts, dtype=np.float32)


def max_tokens(model_dir: Path) -> int:
    """The model's ``max_seq_length`` (sentence-transformers truncates there)."""
    try:
        config = json.loads((model_dir / "sentence_bert_config.json").read_text(encoding="utf-8"))
        return int(config["max_seq_length"])
    except (OSError, ValueError, KeyError, TypeError):
        return DEFAULT_MAX_TOKENS


class OnnxEmbedder(Embedder):
    """ONNX Runtime in-process; loaded on first use, thread-safe, falls back
    to sentence-transformers when the ONNX model is unavailable."""

    backend = "local"

    def __init__(self, model_id: str, batch_size: int = 32, *, cache_dir: Path,
                 threads: int = 0) -> None:
        """``threads``: ONNX Runtime's intra-op threads (0: one per core)."""
        super().__init__(model_id, batch_size)
        self.cache_dir = cache_dir
        self.threads = threads
        self._session: Any = None
        self._tokenizer: Any = None
        self._inputs: tuple[str, ...] = ()
        self._fallback: LocalEmbedder | None = None
        self._lock = threading.Lock()

    @property
    def runtime(self) -> str:
        """``onnx``, ``sentence-transformers`` (the fallback) or ``not loaded``."""
        if self._fallback is not None:
            return "sentence-transformers"
        return "onnx" if self._session is not None else "not loaded"

    def describe(self) -> str:
        """A one-line description for logs."""
        return f"local embedder for {self.model_id} (ONNX Runtime, falling back to sentence-transformers)"

    def _load(self) -> None:
        if self._session is not None or self._fallback is not None:
            return
        location = model_location(self.model_id)
        if not Path(location).is_dir():
            # Not the packaged model: sentence-transformers loads it from the Hugging Face cache
            # (or says in one line how to get it); nothing to warn about.
            log.info("%s is not packaged: the local backend runs it with sentence-transformers", self.model_id)
            self._fallback = LocalEmbedder(self.model_id, self.batch_size)
            return
        try:
            model_dir = Path(location)
            import onnxruntime
            from tokenizers import Tokenizer

            path = ensure_onnx(self.model_id, model_dir, self.cache_dir)
            tokenizer = Tokenizer.from_file(str(model_dir / "tokenizer.json"))
            tokenizer.enable_truncation(max_length=max_tokens(model_dir))
            pad_id = tokenizer.token_to_id("[PAD]")
            tokenizer.enable_padding(pad_id=0 if pad_id is None else pad_id, pad_token="[PAD]")
            options = onnxruntime.SessionOptions()
            options.intra_op_num_threads = self.threads
            options.inter_op_num_threads = 1
            options.log_severity_level = 3
            # Idle intra-op threads sleep instead of spinning: on a busy 2-core
            # machine spinning took cores from other work and from the next
            # call (measured interleaved at load 3: batch 130 -> 164 texts/s,
            # single question p50 14.5 -> 11.9 ms; docs/benchmarks.md).
            options.add_session_config_entry("session.intra_op.allow_spinning", "0")
            session = onnxruntime.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        except Exception as error:  # anything at all: the fallback is always correct, only slower
            log.warning("ONNX model for %s unavailable (%s: %s); using sentence-transformers",
                        self.model_id, type(error).__name__, str(error).splitlines()[0][:200] if str(error) else "")
            self._fallback = LocalEmbedder(self.model_id, self.batch_size)
            return
        self._tokenizer = tokenizer
        self._inputs = tuple(i.name for i in session.get_inputs() if i.name in INPUTS)
        self._session = session

    def embed(self, texts: Sequence[str], *, progress: bool = False) -> np.ndarray:
        """As :meth:`Embedder.embed`, with texts batched in order of length (as
        sentence-transformers does) so a batch pads to similar lengths."""
        texts = list(texts)
        order = np.argsort([-len(t) for t in texts], kind="stable")
        vectors = super().embed([texts[i] for i in order], progress=progress)
        out = np.empty_like(vectors)
        out[order] = vectors
        return out

    def _embed_batch(self, texts: list[str]) -> np.ndarray:
        with self._lock:
            self._load()
            if self._fallback is not None:
                return self._fallback._embed_batch(texts)
            encodings = self._tokenizer.encode_batch(texts)
            arrays = {
                "input_ids": np.array([e.ids for e in encodings], dtype=np.int64),
                "attention_mask": np.array([e.attention_mask for e in encodings], dtype=np.int64),
                "token_type_ids": np.array([e.type_ids for e in encodings], dtype=np.int64),
            }
            (tokens,) = self._session.run(None, {name: arrays[name] for name in self._inputs})
        return mean_pool(tokens, arrays["attention_mask"])

    def warm_up(self) -> None:
        """Load the model now rather than on the first question."""
        self.embed(["warm-up"])
