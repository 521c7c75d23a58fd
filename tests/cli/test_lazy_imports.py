"""``faq-bot ask`` on the local model does not import what only the HTTP
embedders use (``requests``, ``urllib3``: about 100 ms of start-up)."""

from __future__ import annotations

from collections.abc import Callable

from tests.conftest import CLIResult

HTTP_ONLY = {"requests", "urllib3"}


def _imported(stderr: str) -> set[str]:
    """The modules ``-X importtime`` (PYTHONPROFILEIMPORTTIME) reported."""
    return {line.rsplit("|", 1)[1].strip() for line in stderr.splitlines()
            if line.startswith("import time:") and line.count("|") == 2}


def test_ask_on_the_local_model_imports_no_http_client(run_cli: Callable[..., CLIResult]) -> None:
    result = run_cli(["ask", "I lost my Medicare card"], EMBEDDING_BACKEND="local", PYTHONPROFILEIMPORTTIME="1")
    assert result.code == 0, result.err[-2000:]
    assert "replacement" in result.out.lower() or "card" in result.out.lower(), result.out
    imported = _imported(result.err)
    assert "onnxruntime" in imported  # the report was read: the local model's runtime is in it
    assert not imported & HTTP_ONLY, sorted(imported & HTTP_ONLY)
