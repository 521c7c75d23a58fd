"""Start-up imports only what serves: ``faq-bot --help``, ``faq-bot ask`` and
``python -m bot`` never import torch or sentence-transformers when ONNX
Runtime or a remote backend embeds, nor ``datasets`` or pandas (whose imports
alone cost seconds). Each command runs in a fresh interpreter that reports
its ``sys.modules`` when it is done (the bot: when it is about to serve),
serving a built index (building one writes Parquet, and pyarrow's writer
imports pandas: that is ``index build`` and a first run's sample, not the hot path).

The library is lazy too: ``import faq_core`` loads none of its modules, and
``import faq_core.ranking`` (the 80-line ranking) loads numpy and nothing else
of faq_core or the network."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from faq_core.embedders import LocalEmbedder
from tests.conftest import TOKEN, cli_env
from tests.stubs.inference import InferenceStub
from tests.stubs.slack_api import BOT_TOKEN, SlackAPIStub
from tests.stubs.slack_payloads import SIGNING_SECRET

HEAVY = ("torch", "sentence_transformers", "transformers", "datasets", "pandas", "scipy", "sklearn")

REPORT = "print('MODULES ' + json.dumps(sorted(m for m in sys.modules if '.' not in m)), flush=True)"
CLI = f"""
import json, sys
from bot.cli.main import main
try:
    code = main(sys.argv[1:])
except SystemExit as stop:
    code = stop.code
{REPORT}
sys.exit(code)
"""
BOT = f"""
import json, sys
import bot.slack.serve

def report(*args, **kwargs):
    {REPORT}

bot.slack.serve.run_http = report
from bot.cli.run import main
sys.exit(main(["--http", "--port", "0"]))
"""


def modules_after(statement: str) -> set[str]:
    """Every module (dotted names too) a fresh interpreter holds after ``statement``,
    less those the interpreter itself had loaded before it."""
    code = ("import json, sys; before = set(sys.modules); " + statement
            + "; print(json.dumps(sorted(set(sys.modules) - before)))")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True)
    return set(json.loads(proc.stdout))


def test_importing_the_library_loads_none_of_it() -> None:
    loaded = modules_after("import faq_core")
    assert {m for m in loaded if m.startswith("faq_core")} == {"faq_core"}
    assert not loaded & {"numpy", "requests", "pyarrow", "onnxruntime", "huggingface_hub"}, sorted(loaded)


def test_importing_the_ranking_loads_numpy_and_nothing_else_of_the_library() -> None:
    loaded = modules_after("import faq_core.ranking")
    assert {m for m in loaded if m.startswith("faq_core")} == {"faq_core", "faq_core.ranking"}
    assert "numpy" in loaded
    top_level = {m.split(".")[0] for m in loaded}
    assert not top_level & {"requests", "pyarrow", "onnxruntime", "huggingface_hub", "tokenizers", *HEAVY}, (
        sorted(top_level))


def test_the_library_names_are_attached_on_first_use() -> None:
    loaded = modules_after("import faq_core; faq_core.Outcome")
    assert "faq_core.answer" in loaded and "faq_core.engine" not in loaded
    import faq_core
    from faq_core.engine import FAQEngine

    assert faq_core.FAQEngine is FAQEngine and "FAQEngine" in dir(faq_core)
    with pytest.raises(AttributeError, match="no attribute 'nothing_here'"):
        faq_core.nothing_here  # noqa: B018


def loaded_modules(code: str, args: list[str], env: dict[str, str], cwd: Path) -> set[str]:
    proc = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, timeout=240,
                          env=env, cwd=cwd)
    assert proc.returncode == 0, proc.stderr
    [line] = [line for line in proc.stdout.splitlines() if line.startswith("MODULES ")]
    return set(json.loads(line.removeprefix("MODULES ")))


def test_help_imports_no_model_or_table_library(tmp_path: Path) -> None:
    modules = loaded_modules(CLI, ["--help"], cli_env(tmp_path), tmp_path)
    assert not modules & {*HEAVY, "onnxruntime", "pyarrow"}, sorted(modules & {*HEAVY, "onnxruntime", "pyarrow"})


def test_ask_with_the_local_backend_runs_onnx_without_torch(tmp_path: Path, sample_index_dir: Path) -> None:
    modules = loaded_modules(CLI, ["ask", "How do I get a new Medicare card?"],
                             cli_env(tmp_path, EMBEDDING_BACKEND="local", FAQ_INDEX=str(sample_index_dir)), tmp_path)
    assert "onnxruntime" in modules  # it did embed locally, through ONNX Runtime
    assert not modules & set(HEAVY), sorted(modules & set(HEAVY))


def test_ask_with_a_remote_backend_imports_no_model_runtime(tmp_path: Path, local_embedder: LocalEmbedder,
                                                            sample_index_dir: Path) -> None:
    with InferenceStub(lambda texts: np.asarray(local_embedder.embed(texts))) as stub:
        env = cli_env(tmp_path, EMBEDDING_BACKEND="hf-inference", EMBEDDING_URL=stub.router_url(), HF_TOKEN=TOKEN,
                      FAQ_INDEX=str(sample_index_dir))
        modules = loaded_modules(CLI, ["ask", "How do I get a new Medicare card?"], env, tmp_path)
    assert stub.requests  # the questions went to the stand-in
    assert not modules & {*HEAVY, "onnxruntime"}, sorted(modules & {*HEAVY, "onnxruntime"})


@pytest.mark.parametrize("backend", ["local", "hf-inference"])
def test_the_bot_starts_without_torch(tmp_path: Path, local_embedder: LocalEmbedder, sample_index_dir: Path,
                                      backend: str) -> None:
    with SlackAPIStub() as slack, InferenceStub(lambda texts: np.asarray(local_embedder.embed(texts))) as stub:
        env = cli_env(tmp_path, EMBEDDING_BACKEND=backend, SLACK_BOT_TOKEN=BOT_TOKEN,
                      SLACK_SIGNING_SECRET=SIGNING_SECRET, SLACK_API_URL=slack.base_url,
                      DATABASE_URL=f"sqlite:///{tmp_path / 'bot.db'}", FAQ_INDEX=str(sample_index_dir))
        if backend == "hf-inference":
            env.update(EMBEDDING_URL=stub.router_url(), HF_TOKEN=TOKEN)
        modules = loaded_modules(BOT, [], env, tmp_path)
    assert "slack_bolt" in modules  # it got as far as building the app
    assert not modules & set(HEAVY), sorted(modules & set(HEAVY))
