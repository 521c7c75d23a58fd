"""``python -m tests.postgres_server``: the PostgreSQL server ``make test`` runs the store tests against.

It prints the URL to put in ``TEST_DATABASE_URL``, or nothing, and says on stderr which and why, so the
store tests run against PostgreSQL whenever one answers and are skipped with a reason otherwise:

- ``TEST_DATABASE_URL`` set: that URL, as it is (set but empty: none, the PostgreSQL tests are skipped);
- else the server the project's machines run (user ``postgres``, database ``test`` on 127.0.0.1:5432),
  when it accepts a real connection. A plain socket check comes first, so a machine with no server (or no
  psycopg, or no ``pg_isready``) is told so at once.

``make test`` and so CI (``.ci/run`` runs ``make test``) use it: one place for this decision.
"""

from __future__ import annotations

import os
import socket
import sys
from collections.abc import Mapping
from urllib.parse import urlsplit

DEFAULT_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
CONNECT_TIMEOUT_SECONDS = 3


def unusable(url: str, timeout: float = CONNECT_TIMEOUT_SECONDS) -> str | None:
    """Why the PostgreSQL server at ``url`` cannot run the tests (nothing listens, it does not answer as
    PostgreSQL, it refuses the user or the database), or None when a real connection was made."""
    parts = urlsplit(url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 5432
    try:
        socket.create_connection((host, port), timeout=timeout).close()
    except OSError as error:
        return f"nothing answers at {host}:{port} ({error.strerror or error})"
    try:
        import psycopg
    except ImportError:
        return "psycopg is not installed (the postgres extra)"
    conninfo = parts._replace(scheme="postgresql").geturl()
    try:
        psycopg.connect(conninfo, connect_timeout=max(1, round(timeout))).close()
    except psycopg.Error as error:
        reason = " ".join(str(error).split()) or type(error).__name__
        return f"the server at {host}:{port} refused the connection: {reason}"
    return None


def choose(environ: Mapping[str, str]) -> tuple[str, str]:
    """The URL for ``TEST_DATABASE_URL`` (empty: none) and the sentence that says so."""
    if "TEST_DATABASE_URL" in environ:
        url = environ["TEST_DATABASE_URL"]
        if not url:
            return "", "PostgreSQL tests will be skipped: TEST_DATABASE_URL is set empty"
        return url, f"the store tests also run against PostgreSQL at TEST_DATABASE_URL ({_where(url)})"
    reason = unusable(DEFAULT_URL)
    if reason is None:
        return DEFAULT_URL, f"PostgreSQL answers at {_where(DEFAULT_URL)}: the store tests also run against it"
    return "", (f"PostgreSQL tests will be skipped: {reason} (set TEST_DATABASE_URL to a server's URL to run "
                "them)")


def _where(url: str) -> str:
    """Host, port and database of ``url``, without its user or password."""
    parts = urlsplit(url)
    return f"{parts.hostname}:{parts.port or 5432}{parts.path}"


def main() -> int:
    url, note = choose(os.environ)
    print(note, file=sys.stderr)
    print(url)
    return 0


if __name__ == "__main__":
    sys.exit(main())
