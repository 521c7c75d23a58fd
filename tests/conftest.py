"""Shared fixtures: an isolated, offline environment, the real local model
and engine, the store (SQLite, and PostgreSQL when one answers), and the
``faq-bot`` console script run in a subprocess.

Every test runs with the Hugging Face caches in a temporary folder and the
hubs marked offline, so nothing can be downloaded and no developer's cache or
``.env`` leaks into a result.
"""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import threading
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

from bot.store.database import Store
from faq_core.embedders import LocalEmbedder, OnnxEmbedder
from faq_core.embedders.local import PACKAGED_MODEL, model_location
from faq_core.embedders.onnx_model import ensure_onnx
from faq_core.engine import FAQEngine
from faq_core.index import FAQIndex, build_index_from_source, load_index, save_index
from faq_core.sample import sample_source
from faq_core.settings import DEFAULT_MODEL
from faq_core.threshold import with_auto_threshold
from tests.stubs.hub_api import WRITE_TOKEN, HubStub
from tests.stubs.inference import InferenceStub

# Read by huggingface_hub when first imported, which a test module may do at
# collection time (tests/core/test_index_layout.py imports datasets), before the
# session fixture below runs: a bare "pytest tests/core" stays offline too.
for _name in ("HF_HUB_DISABLE_PROGRESS_BARS", "HF_HUB_OFFLINE", "HF_DATASETS_OFFLINE"):
    os.environ.setdefault(_name, "1")


@pytest.fixture(scope="session", autouse=True)
def _offline_environment(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Offline hubs, caches under a temporary folder, no real tokens."""
    home = tmp_path_factory.mktemp("hf-home")
    saved = dict(os.environ)
    os.environ.update(
        {
            "HF_HOME": str(home),
            "HF_HUB_OFFLINE": "1",
            "HF_DATASETS_OFFLINE": "1",
            "TRANSFORMERS_OFFLINE": "1",
            "HF_HUB_DISABLE_PROGRESS_BARS": "1",
            "TOKENIZERS_PARALLELISM": "false",
            "FAQ_CACHE_DIR": str(home / "faq-bot"),
        }
    )
    for name in ("HF_TOKEN", "FAQ_INDEX", "FAQ_INDEX_REVISION", "EMBEDDING_BACKEND", "EMBEDDING_URL",
                 "EMBEDDING_MODEL", "FAQ_MIN_SCORE", "SLACK_BOT_TOKEN", "SLACK_APP_TOKEN", "SLACK_SIGNING_SECRET",
                 "DISCORD_BOT_TOKEN", "DISCORD_GUILD_IDS", "DISCORD_API_URL"):
        os.environ.pop(name, None)
    yield
    os.environ.clear()
    os.environ.update(saved)


def share_onnx_model(cache_dir: Path) -> Path:
    """Give ``cache_dir`` (a test's own FAQ_CACHE_DIR) the ONNX export of the
    session's cache, as a link, so each subprocess does not export it again.
    The session's cache is itself fresh: the first call exports the model."""
    shared = Path(os.environ["FAQ_CACHE_DIR"])
    ensure_onnx(PACKAGED_MODEL, Path(model_location(PACKAGED_MODEL)), shared)
    cache_dir.mkdir(parents=True, exist_ok=True)
    link = cache_dir / "onnx"
    if not link.exists():
        link.symlink_to(shared / "onnx", target_is_directory=True)
    return cache_dir


@pytest.fixture(scope="session")
def onnx_embedder() -> OnnxEmbedder:
    """The default local backend (ONNX Runtime), exported into the session's cache once."""
    embedder = OnnxEmbedder(DEFAULT_MODEL, cache_dir=Path(os.environ["FAQ_CACHE_DIR"]))
    embedder.warm_up()
    assert embedder.runtime == "onnx"
    return embedder


@pytest.fixture(scope="session")
def local_embedder() -> LocalEmbedder:
    """The real all-MiniLM-L6-v2 from the packaged weights through
    sentence-transformers (torch), loaded once: the reference."""
    embedder = LocalEmbedder(DEFAULT_MODEL)
    embedder.warm_up()
    return embedder


@pytest.fixture(scope="session")
def sample_index_dir(tmp_path_factory: pytest.TempPathFactory, local_embedder: LocalEmbedder) -> Path:
    """The bundled Medicare sample, built once with the local model and saved."""
    index = with_auto_threshold(build_index_from_source(sample_source(), local_embedder))
    return save_index(index, tmp_path_factory.mktemp("indexes") / "medicare")


@pytest.fixture()
def sample_index(sample_index_dir: Path) -> FAQIndex:
    """A fresh in-memory copy of the sample index (tests may mutate it)."""
    return load_index(sample_index_dir)


@pytest.fixture()
def inference_stub(local_embedder: LocalEmbedder) -> Iterator[InferenceStub]:
    """The embedding-service stand-in, serving the local model's real vectors."""
    with InferenceStub(lambda texts: np.asarray(local_embedder.embed(texts))) as stub:
        yield stub


@pytest.fixture()
def hub(monkeypatch: pytest.MonkeyPatch) -> Iterator[HubStub]:
    """The Hub API stand-in, with the real ``huggingface_hub`` client allowed
    to reach it (only it: the session stays offline for everything else that
    names no endpoint) over the LFS protocol (the client's Xet path is not
    spoken by the stand-in), and HF_ENDPOINT/HF_TOKEN set for code that reads settings."""
    import huggingface_hub.constants as hub_constants

    with HubStub() as stub:
        monkeypatch.setattr(hub_constants, "HF_HUB_OFFLINE", False)
        monkeypatch.setattr(hub_constants, "HF_HUB_DISABLE_XET", True)
        monkeypatch.setenv("HF_ENDPOINT", stub.origin)
        monkeypatch.setenv("HF_TOKEN", WRITE_TOKEN)
        yield stub


@pytest.fixture(scope="session")
def revision_folders(tmp_path_factory: pytest.TempPathFactory, local_embedder: LocalEmbedder) -> dict[str, Path]:
    """Two revisions of an FAQ index, built once: ``v1`` (the sample) and
    ``v2`` (an FAQ added, one edited, a phrasing added, every answer marked
    with ``V2_MARK``)."""
    from tests.faq_sources import V2_MARK, build_folder, changed_rows, sample_rows

    base = tmp_path_factory.mktemp("revisions")
    return {"v1": build_folder(sample_rows(), base / "v1", local_embedder),
            "v2": build_folder(changed_rows(suffix=V2_MARK), base / "v2", local_embedder)}


@pytest.fixture(scope="session")
def team_indexes(tmp_path_factory: pytest.TempPathFactory, local_embedder: LocalEmbedder) -> dict[str, Path]:
    """Three small FAQ index folders (IT, HR, finance), built once from small CSVs, for routing."""
    from tests.faq_sources import TEAM_ROWS, build_folder

    base = tmp_path_factory.mktemp("teams")
    return {team: build_folder(rows, base / team, local_embedder) for team, rows in TEAM_ROWS.items()}


@pytest.fixture(autouse=True)
def _logging_restored() -> Iterator[None]:
    """Undo what ``faq-bot`` commands run in-process set up (``setup_logging``:
    a root handler on this test's captured stderr, excepthooks), so a later
    test's log lines never go to a closed stream ("--- Logging error ---")."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    hooks = sys.excepthook, threading.excepthook
    yield
    root.handlers[:] = handlers
    root.setLevel(level)
    sys.excepthook, threading.excepthook = hooks


@pytest.fixture()
def db_url(tmp_path: Path) -> str:
    """An SQLite file of this test's own."""
    return f"sqlite:///{tmp_path / 'faq-bot.db'}"


POSTGRES_SKIP = ("TEST_DATABASE_URL is not set: PostgreSQL store tests skipped "
                 "(make test sets it when a server answers at 127.0.0.1:5432)")


@pytest.fixture()
def pg_url() -> Iterator[str]:
    """A schema of this test's own on the PostgreSQL server at ``TEST_DATABASE_URL``
    (dropped afterwards), so parallel runs never see each other's rows."""
    base = os.environ.get("TEST_DATABASE_URL")
    if not base:
        pytest.skip(POSTGRES_SKIP)
    from sqlalchemy import create_engine, text

    from bot.store.database import normalise_url

    schema = f"faqbot_test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(normalise_url(base))
    with admin.begin() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    separator = "&" if "?" in base else "?"
    try:
        yield f"{base}{separator}options=-csearch_path%3D{schema}"
    finally:
        with admin.begin() as connection:
            connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture(params=["sqlite", "postgres"])
def any_db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """Each store test runs on SQLite and, when ``TEST_DATABASE_URL`` is set, on PostgreSQL."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'faq-bot.db'}"
    return str(request.getfixturevalue("pg_url"))


@pytest.fixture()
def any_store(any_db_url: str) -> Iterator[Store]:
    """A store on SQLite and, when ``TEST_DATABASE_URL`` is set, on PostgreSQL."""
    store = Store(any_db_url)
    yield store
    store.close()


@pytest.fixture()
def store(db_url: str) -> Iterator[Store]:
    """The bot's store on that file."""
    store = Store(db_url)
    yield store
    store.close()


@pytest.fixture(scope="session")
def engine(sample_index_dir: Path, local_embedder: LocalEmbedder) -> FAQEngine:
    """The real engine: the Medicare sample index and the local model, loaded
    once (the engine is thread-safe and no test changes it)."""
    return FAQEngine(load_index(sample_index_dir), local_embedder)


# The console script installed into the same environment as the interpreter
# running the tests: running it also checks the packaging (entry point, data).
FAQ_BOT = Path(sys.executable).with_name("faq-bot")


TOKEN = "hf_test_token_123"  # what tests.stubs.inference.InferenceStub accepts by default


@dataclass
class CLIResult:
    """What a ``faq-bot`` run printed and returned."""

    code: int
    out: str
    err: str


def cli_env(home: Path, **extra: str) -> dict[str, str]:
    """An offline environment with every cache under ``home`` and no settings
    leaking in from the developer's shell."""
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(home),
        "HF_HOME": str(home / "hf"),
        "FAQ_CACHE_DIR": str(home / "faq-bot"),
        "HF_HUB_OFFLINE": "1",
        "HF_DATASETS_OFFLINE": "1",
        "TRANSFORMERS_OFFLINE": "1",
        "TOKENIZERS_PARALLELISM": "false",
        "HF_HUB_DISABLE_PROGRESS_BARS": "1",
        "PYTHONUNBUFFERED": "1",
    }
    env.update(extra)
    share_onnx_model(Path(env["FAQ_CACHE_DIR"]))
    return env


@pytest.fixture()
def run_cli(tmp_path: Path) -> Callable[..., CLIResult]:
    """Run the installed ``faq-bot`` with ``args`` in ``tmp_path`` (so no
    ``.env`` of the checkout is read)."""

    def run(args: Sequence[str], *, stdin: str | None = None, timeout: float = 180, **env: str) -> CLIResult:
        proc = subprocess.run(
            [str(FAQ_BOT), *args], input=stdin, capture_output=True, text=True, timeout=timeout,
            cwd=tmp_path, env=cli_env(tmp_path, **env),
        )
        return CLIResult(proc.returncode, proc.stdout, proc.stderr)

    return run


@pytest.fixture()
def slow_embeddings(local_embedder: LocalEmbedder) -> Iterator[InferenceStub]:
    """An embedding service (the TEI stand-in) answering with the local model's
    vectors, whose replies a test can script to be slow or fail."""
    with InferenceStub(lambda texts: np.asarray(local_embedder.embed(texts))) as stub:
        yield stub
