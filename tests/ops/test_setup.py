"""A fresh clone's set-up: ``make install`` takes torch's CPU build only (never PyPI's CUDA build with its
gigabytes of nvidia-* packages), and ``make test`` (so CI) runs the store tests against PostgreSQL whenever
a server answers, saying why they are skipped when none does.

The install itself cannot run here with nothing but the package index, so the recipe is read as make
would run it (``make -n``) and its CUDA check is run on stand-in distributions."""

from __future__ import annotations

import os
import shlex
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from bench.install_size import closure
from tests import postgres_server
from tests.ops.commands import ROOT

CPU_INDEX = "https://download.pytorch.org/whl/cpu"


def recipe(target: str, **variables: str) -> list[str]:
    """The shell commands ``make TARGET`` would run (continuation lines joined, comments dropped)."""
    assignments = [f"{name}={value}" for name, value in variables.items()]
    shown = subprocess.run(["make", "--no-print-directory", "-n", "-B", "-C", str(ROOT), target, *assignments],
                           capture_output=True, text=True, check=True).stdout
    return [line for line in shown.replace("\\\n", " ").splitlines() if line.strip() and not line.startswith("#")]


def pip_installs(commands: list[str]) -> list[list[str]]:
    """The words of each ``pip install`` command, in order."""
    found = []
    for command in commands:
        words = shlex.split(command.split("||")[0])
        if words[1:4] == ["-m", "pip", "install"]:
            found.append(words[4:])
    return found


def option(words: list[str], name: str) -> str | None:
    return words[words.index(name) + 1] if name in words else None


def requirements(words: list[str]) -> list[str]:
    """The positional requirements of a pip command (options and their values skipped)."""
    takes_value = {"--index-url", "-i", "--extra-index-url", "--retries", "--timeout", "-c", "--constraint", "-e",
                   "--find-links", "-f"}
    found, skip = [], False
    for word in words:
        if skip:
            skip = False
        elif word in takes_value:
            skip = word != "-e"  # -e's value is a requirement too
        elif not word.startswith("-"):
            found.append(word)
    return found


def test_install_takes_torch_from_the_cpu_index_alone_and_first() -> None:
    installs = pip_installs(recipe("install", VENV="/nowhere/venv"))
    torch_steps = [i for i, words in enumerate(installs)
                   if any(r.split("=")[0].split("<")[0].split(">")[0] == "torch" for r in requirements(words))]
    project = [i for i, words in enumerate(installs) if any(r.startswith(".[") for r in requirements(words))]
    assert len(torch_steps) == 1 and len(project) == 1, installs
    torch, project_step = installs[torch_steps[0]], installs[project[0]]
    assert torch_steps[0] < project[0], "torch must be installed before the project that asks for any torch"
    # Only PyTorch's CPU index: no PyPI beside it, whose Linux torch is the CUDA build.
    assert option(torch, "--index-url") == CPU_INDEX
    assert "--extra-index-url" not in torch and requirements(torch) == ["torch"]
    # The version is the one constraints.txt pins, for both steps: the installed CPU build satisfies it.
    assert option(torch, "-c") == option(project_step, "-c") == "constraints.txt"
    # An unreachable index is given up on in seconds, not after pip's default 5 retries x PIP_DEFAULT_TIMEOUT.
    assert int(option(torch, "--retries") or 5) <= 2 and int(option(torch, "--timeout") or 180) <= 60
    extras = requirements(project_step)[0].removeprefix(".[").removesuffix("]").split(",")
    assert "local" in extras and "--index-url" not in project_step and "--extra-index-url" not in project_step


def test_the_torch_pin_is_an_exact_public_version_that_every_cpu_build_satisfies() -> None:
    pins = [line.split("==", 1)[1] for line in (ROOT / "constraints.txt").read_text().splitlines()
            if line.startswith("torch==")]
    assert len(pins) == 1
    # No local label: Linux's CPU build is 2.13.0+cpu, macOS's plain 2.13.0; ==2.13.0 takes both.
    assert "+" not in pins[0] and pins[0].count(".") == 2


def test_the_dockerfile_and_the_makefile_take_torch_from_the_same_cpu_index() -> None:
    dockerfile = (ROOT / "Dockerfile").read_text(encoding="utf-8")
    assert f"--index-url {CPU_INDEX} -c constraints.txt torch" in dockerfile.replace("\\\n", " ")


@pytest.mark.parametrize(("requires", "refused"), [
    (["filelock", "sympy>=1.13.3"], False),  # the CPU build
    (["filelock", 'nvidia-cudnn-cu13==9.20.0.48; platform_system == "Linux"'], True),
    (['triton==3.7.1; platform_system == "Linux"'], True),
    (['cuda-bindings<14,>=13.0.3; platform_system == "Linux"'], True),
], ids=["cpu", "nvidia", "triton", "cuda-bindings"])
def test_install_refuses_a_venv_that_holds_the_cuda_build(tmp_path: Path, requires: list[str],
                                                         refused: bool) -> None:
    """A venv from an older recipe keeps its CUDA torch at the pinned version: the recipe says so."""
    [check] = [c for c in recipe("install", PY=sys.executable) if "requires('torch')" in c]
    info = tmp_path / "site" / "torch-2.13.0.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: torch\nVersion: 2.13.0\n"
                                   + "".join(f"Requires-Dist: {r}\n" for r in requires))
    done = subprocess.run(check, shell=True, capture_output=True, text=True, cwd=ROOT,
                          env={**os.environ, "PYTHONPATH": str(tmp_path / "site")})
    assert (done.returncode != 0) == refused, done.stderr
    if refused:
        assert done.stderr.strip() == "make: .venv holds the CUDA build of torch: make clean install"


def test_only_the_local_extra_brings_torch() -> None:
    """postgres, dev (datasets, discord.py, ...) and onnx need no torch: the one torch is the local extra's."""
    others = closure(["faq-bot"], {"faq-bot": {"onnx", "postgres", "dev", "discord"}})
    assert "datasets" in others and "onnxruntime" in others  # the extras were read
    assert not {"torch", "triton"} & others and not any(n.startswith("nvidia") for n in others)
    assert "torch" in closure(["faq-bot"], {"faq-bot": {"local"}})


# -- make test and PostgreSQL --------------------------------------------------------------------------


def test_make_test_and_ci_take_the_server_from_one_place() -> None:
    command = recipe("test")[-1]  # after the install steps (-B makes them due too)
    assert command.startswith('TEST_DATABASE_URL="$(') and "-m tests.postgres_server)" in command
    assert command.rstrip().endswith("-m pytest -q")
    ci = [line for line in (ROOT / ".ci/run").read_text().splitlines() if line and not line.startswith("#")]
    assert ci[-1] == "make test" and not any("5432" in line or "pg_isready" in line for line in ci)


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture()
def not_postgres() -> Iterator[int]:
    """A port whose server accepts a connection and hangs up (some other service)."""
    server = socket.create_server(("127.0.0.1", 0))
    server.settimeout(0.2)
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                connection, _ = server.accept()
            except TimeoutError:
                continue
            connection.close()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield server.getsockname()[1]
    stop.set()
    thread.join()
    server.close()


def test_nothing_listening_is_told_at_once() -> None:
    port = closed_port()
    reason = postgres_server.unusable(f"postgresql+psycopg://postgres@127.0.0.1:{port}/test")
    assert reason is not None and reason.startswith(f"nothing answers at 127.0.0.1:{port} (")


def test_a_server_that_is_not_postgres_is_refused(not_postgres: int) -> None:
    reason = postgres_server.unusable(f"postgresql+psycopg://postgres@127.0.0.1:{not_postgres}/test")
    assert reason is not None and reason.startswith(f"the server at 127.0.0.1:{not_postgres} refused the connection: ")


def real_server() -> str:
    url = os.environ.get("TEST_DATABASE_URL")
    if not url:
        pytest.skip("TEST_DATABASE_URL is not set: no PostgreSQL server to try")
    return url


def test_the_real_server_is_taken_and_a_missing_database_is_named() -> None:
    url = real_server()
    assert postgres_server.unusable(url) is None
    missing = urlsplit(url)._replace(path="/no_such_database_here").geturl()
    reason = postgres_server.unusable(missing)
    assert reason is not None and "no_such_database_here" in reason


def test_without_a_server_the_tests_are_skipped_with_the_reason(monkeypatch: pytest.MonkeyPatch) -> None:
    port = closed_port()
    monkeypatch.setattr(postgres_server, "DEFAULT_URL", f"postgresql+psycopg://postgres@127.0.0.1:{port}/test")
    url, note = postgres_server.choose({})
    assert url == ""
    assert note.startswith(f"PostgreSQL tests will be skipped: nothing answers at 127.0.0.1:{port} (")
    assert note.endswith("(set TEST_DATABASE_URL to a server's URL to run them)")


def test_a_server_that_answers_at_the_default_place_is_used(monkeypatch: pytest.MonkeyPatch) -> None:
    url = real_server()
    monkeypatch.setattr(postgres_server, "DEFAULT_URL", url)
    assert postgres_server.choose({}) == (url, f"PostgreSQL answers at {postgres_server._where(url)}: "
                                               "the store tests also run against it")


@pytest.mark.parametrize(("value", "printed", "says"), [
    ("", "", "PostgreSQL tests will be skipped: TEST_DATABASE_URL is set empty"),
    ("postgresql+psycopg://someone:pw@db.example:6543/other", "postgresql+psycopg://someone:pw@db.example:6543/other",
     "the store tests also run against PostgreSQL at TEST_DATABASE_URL (db.example:6543/other)"),
], ids=["set-empty", "set"])
def test_a_url_the_user_set_wins_and_its_password_is_not_echoed(value: str, printed: str, says: str) -> None:
    done = subprocess.run([sys.executable, "-m", "tests.postgres_server"], capture_output=True, text=True, cwd=ROOT,
                          env={**os.environ, "TEST_DATABASE_URL": value}, timeout=60)
    assert done.returncode == 0
    assert done.stdout == printed + "\n"
    assert done.stderr.strip() == says and "pw" not in done.stderr
