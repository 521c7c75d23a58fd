"""The ONNX file of a local sentence-transformers model: where it is cached,
and how it is produced from the model's own weights (once).

The file holds the transformer only (token ids in, token vectors out);
tokenizing, mean pooling and normalisation are done by
:class:`faq_core.embedders.onnx_local.OnnxEmbedder` exactly as
sentence-transformers does them. It is cached under ``FAQ_CACHE_DIR`` in a
folder named by the sha256 of the weights file and the export recipe, so new
weights or a changed recipe never reuse a stale file. Producing it needs torch,
transformers and onnx (the ``local`` extra); running it needs only
onnxruntime and tokenizers. ``make install`` makes it once, and a
container build can make it and then drop torch::

    python -m faq_core.onnx_export [--cache-dir DIR]
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import tempfile
from pathlib import Path

log = logging.getLogger(__name__)

# Bumped whenever the export below changes, so files made by an older recipe are not reused.
EXPORT_RECIPE = "torchscript-opset17-v1"
ONNX_FILE = "model.onnx"
DIGESTS_FILE = "weights-sha256.json"
INPUTS = ("input_ids", "attention_mask", "token_type_ids")
OUTPUT = "last_hidden_state"
_WEIGHT_FILES = ("model.safetensors", "pytorch_model.bin")


def weights_file(model_dir: Path) -> Path:
    """The weights file of a model folder (safetensors preferred)."""
    for name in _WEIGHT_FILES:
        if (model_dir / name).is_file():
            return model_dir / name
    raise FileNotFoundError(f"{model_dir} holds no {' or '.join(_WEIGHT_FILES)}")


def weights_digest(model_dir: Path, memo: Path | None = None) -> str:
    """sha256 of the model's weights (90 MB for MiniLM: ~0.1-0.3 s), remembered
    in the JSON file ``memo`` by the file's path, size and mtime, so a start-up
    hashes only weights it has not seen (a changed file is hashed again)."""
    weights = weights_file(model_dir)
    stat = weights.stat()
    key = f"{weights.resolve()}:{stat.st_size}:{stat.st_mtime_ns}"
    known: dict[str, str] = {}
    if memo is not None:
        try:
            known = dict(json.loads(memo.read_text(encoding="utf-8")))
        except (OSError, ValueError, TypeError):
            known = {}
        if isinstance(known.get(key), str):
            return known[key]
    digest = hashlib.sha256()
    with weights.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    value = digest.hexdigest()
    if memo is not None:
        try:
            memo.parent.mkdir(parents=True, exist_ok=True)
            tmp = memo.with_name(f".{memo.name}.{os.getpid()}")
            tmp.write_text(json.dumps({**known, key: value}, indent=1), encoding="utf-8")
            os.replace(tmp, memo)
        except OSError:
            pass  # only an optimisation: the next start hashes again
    return value


def cached_onnx_path(model_id: str, model_dir: Path, cache_dir: Path) -> Path:
    """Where the ONNX file of these weights lives under ``cache_dir`` (it may not exist yet)."""
    slug = re.sub(r"[^A-Za-z0-9]+", "-", model_id).strip("-")
    digest = weights_digest(model_dir, cache_dir / "onnx" / DIGESTS_FILE)
    key = hashlib.sha256(f"{digest}:{EXPORT_RECIPE}".encode()).hexdigest()[:16]
    return cache_dir / "onnx" / f"{slug}-{key}" / ONNX_FILE


def export_onnx(model_dir: Path, out: Path) -> Path:
    """Export the transformer of ``model_dir`` to ``out`` (written to a
    temporary sibling and renamed, so a failed or concurrent export never
    leaves a half-written file). Raises ImportError without torch/onnx."""
    import torch
    from transformers import AutoModel

    # Eager attention traces to plain ops that accept any batch and length;
    # the masked result equals the default (sdpa) one.
    model = AutoModel.from_pretrained(str(model_dir), attn_implementation="eager").eval()

    class _Transformer(torch.nn.Module):
        def __init__(self, inner: torch.nn.Module) -> None:
            super().__init__()
            self.inner = inner

        def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor,
                    token_type_ids: torch.Tensor) -> torch.Tensor:
            return self.inner(input_ids=input_ids, attention_mask=attention_mask,
                              token_type_ids=token_type_ids).last_hidden_state

    example = torch.ones((2, 8), dtype=torch.long)
    out.parent.mkdir(parents=True, exist_ok=True)
    handle, tmp_name = tempfile.mkstemp(prefix=".export-", suffix=".onnx", dir=out.parent)
    os.close(handle)
    tmp = Path(tmp_name)
    try:
        import warnings

        with torch.no_grad(), warnings.catch_warnings():
            warnings.simplefilter("ignore")  # tracer warnings about constants that do not apply here
            torch.onnx.export(
                _Transformer(model), (example, example, torch.zeros_like(example)), str(tmp),
                dynamo=False, input_names=list(INPUTS), output_names=[OUTPUT], opset_version=17,
                dynamic_axes={name: {0: "batch", 1: "tokens"} for name in (*INPUTS, OUTPUT)},
            )
        os.chmod(tmp, 0o644)
        os.replace(tmp, out)
    finally:
        tmp.unlink(missing_ok=True)
    return out


def ensure_onnx(model_id: str, model_dir: Path, cache_dir: Path) -> Path:
    """The cached ONNX file for ``model_dir``'s weights, exported first if missing."""
    path = cached_onnx_path(model_id, model_dir, cache_dir)
    if not path.is_file():
        log.info("exporting %s to ONNX (once) into %s", model_id, path.parent)
        export_onnx(model_dir, path)
    return path
