"""``python -m faq_core.onnx_export``: make the packaged local model's ONNX
file once, into ``FAQ_CACHE_DIR`` (``make install`` runs it; a container
build can run it and then drop torch). See :mod:`faq_core.embedders.onnx_model`."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from faq_core.embedders.local import PACKAGED_MODEL, model_location
from faq_core.embedders.onnx_model import ensure_onnx
from faq_core.errors import FAQBotError
from faq_core.logs import setup_logging
from faq_core.settings import load_settings


def main(argv: list[str] | None = None) -> int:
    """Produce the ONNX file of the packaged model into the cache (``make install``)."""
    parser = argparse.ArgumentParser(prog="python -m faq_core.onnx_export",
                                     description="Export the packaged local model to ONNX, once, into the cache.")
    parser.add_argument("--cache-dir", type=Path, default=None, help="default FAQ_CACHE_DIR")
    args = parser.parse_args(argv)
    setup_logging("WARNING")  # also turns off the progress bars of loading the weights
    try:
        cache_dir = args.cache_dir or load_settings().faq_cache_dir
        path = ensure_onnx(PACKAGED_MODEL, Path(model_location(PACKAGED_MODEL)), cache_dir)
    except (FAQBotError, ImportError, OSError) as error:
        print(f"faq-bot: error: cannot produce the ONNX model: {error}", file=sys.stderr)
        return 2
    print(f"ONNX model ready: {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
