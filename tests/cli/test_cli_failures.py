"""How the installed ``faq-bot`` fails, run as a user runs it (a subprocess
in a folder of its own): one ``faq-bot: error: ...`` line and the exit status
the docs promise (2: bad input or settings; 1: a service failed: the Hub, a
database server), never a stack trace; nothing created by a command that only
reads; and a quiet stop (141) when the reader of its output goes away."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from faq_core.errors import HubDownError, RepoNotFoundError
from faq_core.hub import HUB_ATTEMPTS, head_commit
from faq_core.index import load_index
from tests.cli.test_cli import SOURCE, assert_clean_error
from tests.conftest import FAQ_BOT, CLIResult, cli_env
from tests.core.conftest import closed_port, write
from tests.stubs.hub_api import WRITE_TOKEN, HubStub

Run = Callable[..., CLIResult]
NO_STORE = ("there is no store yet at {url}: the bot creates it when it starts, or run 'faq-bot db upgrade' "
            "(DATABASE_URL says where it is)")
REPO = "acme/faq"


def online(endpoint: str, **more: str) -> dict[str, str]:
    """Settings that let the real Hub client reach ``endpoint`` (the stand-in, or a closed port)."""
    return {"HF_HUB_OFFLINE": "0", "HF_HUB_DISABLE_XET": "1", "HF_ENDPOINT": endpoint, **more}


def closed_endpoint() -> str:
    return f"http://127.0.0.1:{closed_port()}"


# -- a reader that goes away ---------------------------------------------------------------
def run_into_closed_pipe(cwd: Path, args: list[str], **env: str) -> tuple[int, str]:
    """Run ``faq-bot args`` with its stdout a pipe whose reader is already gone
    (``| head -0``): the exit status and everything written to stderr."""
    process = subprocess.Popen([str(FAQ_BOT), *args], cwd=cwd, env=cli_env(cwd, **env), stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True)
    assert process.stdout is not None and process.stderr is not None
    process.stdout.close()  # before the command has written anything: it starts in far more than this takes
    err = process.stderr.read()
    return process.wait(timeout=180), err


@pytest.mark.parametrize("unbuffered", ["1", ""], ids=["unbuffered", "buffered"])
def test_info_into_a_reader_that_went_away_stops_quietly(
    tmp_path: Path, sample_index_dir: Path, unbuffered: str
) -> None:
    """Written at once (unbuffered) or when Python flushes at the end: either way no traceback, exit 141."""
    code, err = run_into_closed_pipe(tmp_path, ["index", "info", str(sample_index_dir), "--faqs"],
                                     PYTHONUNBUFFERED=unbuffered)
    assert (code, err) == (141, "")


def test_answers_into_a_reader_that_went_away_stop_quietly(tmp_path: Path, sample_index_dir: Path) -> None:
    code, err = run_into_closed_pipe(tmp_path, ["ask", "--index", str(sample_index_dir), "How do I sign up?",
                                                "What is TRICARE?"])
    assert (code, err) == (141, "")


# -- the store ---------------------------------------------------------------------------------
READING = [["status"], ["review"], ["review", "decisions"],
           ["review", "apply", "--source", "faqs.csv", "--out", "next.csv"],
           ["digest", "--print", "--no-clusters"], ["digest", "--print"]]


@pytest.mark.parametrize("args", READING, ids=lambda args: "-".join(a for a in args if not a.startswith("-"))[:24])
def test_a_command_that_only_reads_never_creates_the_store(run_cli: Run, tmp_path: Path, args: list[str]) -> None:
    write(tmp_path / "faqs.csv", SOURCE)
    line = assert_clean_error(run_cli(args), 2)
    assert line == "faq-bot: error: " + NO_STORE.format(url=f"sqlite:///faq_bot.db ({tmp_path / 'faq_bot.db'})")
    nested = tmp_path / "no" / "dir" / "x.db"
    line = assert_clean_error(run_cli(args, DATABASE_URL=f"sqlite:///{nested}"), 2)
    assert line == "faq-bot: error: " + NO_STORE.format(url=f"sqlite:///{nested}")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["faq-bot", "faqs.csv"]  # no store, no folder for one


def test_once_the_store_exists_the_reading_commands_read_it(run_cli: Run, tmp_path: Path) -> None:
    upgraded = run_cli(["db", "upgrade"])
    assert upgraded.code == 0, upgraded.err
    assert upgraded.out.startswith("sqlite:///faq_bot.db: schema at ")
    status = run_cli(["status"])
    assert status.code == 0, status.err
    assert "no replica has reported to this store yet" in status.out


@pytest.mark.parametrize(("args", "url", "reason"), [
    (["db", "upgrade"], "sqlite:////proc/x.db", "[Errno 2] No such file or directory: '/proc/x.db'"),
    (["rollback", "--unpin"], "sqlite:////proc/x.db", "[Errno 2] No such file or directory: '/proc/x.db'"),
    (["db", "upgrade"], "sqlite:////sys/x.db", "/sys/x.db"),
    # a store that exists but may not be written, as on a read-only file system
    (["db", "upgrade"], "sqlite:///file:faq_bot.db?mode=ro&uri=true", "attempt to write a readonly database"),
    (["status"], "sqlite:///file:faq_bot.db?mode=ro&uri=true", "attempt to write a readonly database"),
    (["review"], "sqlite:///file:faq_bot.db?mode=ro&uri=true", "attempt to write a readonly database"),
    (["digest", "--print", "--no-clusters"], "sqlite:///file:faq_bot.db?mode=ro&uri=true",
     "attempt to write a readonly database"),
], ids=["upgrade-proc", "rollback-proc", "upgrade-sys", "upgrade-ro", "status-ro", "review-ro", "digest-ro"])
def test_a_store_that_cannot_be_created_or_written_is_one_line(
    run_cli: Run, tmp_path: Path, args: list[str], url: str, reason: str
) -> None:
    write(tmp_path / "faq_bot.db", b"")  # an empty SQLite database, for the read-only URL
    line = assert_clean_error(run_cli(args, DATABASE_URL=url), 2)
    assert line.startswith("faq-bot: error: DATABASE_URL could not be used: ") and reason in line
    assert line.endswith(f", at {url}")


@pytest.mark.skipif(os.geteuid() == 0, reason="root may write into a folder without write permission")
def test_a_folder_without_write_permission_is_one_line(run_cli: Run, tmp_path: Path) -> None:
    locked = tmp_path / "locked"
    locked.mkdir(mode=0o555)
    try:
        line = assert_clean_error(run_cli(["db", "upgrade"], DATABASE_URL=f"sqlite:///{locked / 'x.db'}"), 2)
    finally:
        locked.chmod(0o755)
    assert "DATABASE_URL could not be used: [Errno 13] Permission denied" in line


STORE_COMMANDS = [["status"], ["review"], ["digest", "--print", "--no-clusters"], ["db", "upgrade"],
                  ["rollback", "--unpin"], ["publish", "faqs.csv", REPO]]


@pytest.mark.parametrize("args", STORE_COMMANDS, ids=lambda args: "-".join(args[:2]))
def test_a_database_server_that_is_down_is_a_failed_service(run_cli: Run, tmp_path: Path, args: list[str]) -> None:
    pytest.importorskip("psycopg", reason="PostgreSQL URLs need the postgres extra")
    write(tmp_path / "faqs.csv", SOURCE)
    port = closed_port()
    line = assert_clean_error(run_cli(args, DATABASE_URL=f"postgresql://postgres:pw-0123@127.0.0.1:{port}/test"), 1)
    assert line.startswith(f"faq-bot: error: the database at postgresql+psycopg://postgres:***@127.0.0.1:{port}/test "
                           "(DATABASE_URL) cannot be reached: ")
    assert "Connection refused" in line and "pw-0123" not in line


# -- the Hub ------------------------------------------------------------------------------------
def hub_commands(index_dir: Path) -> list[tuple[list[str], dict[str, str]]]:
    return [
        (["publish", "faqs.csv", REPO], {"HF_TOKEN": WRITE_TOKEN, "EMBEDDING_BACKEND": "local"}),
        (["index", "push", str(index_dir), REPO], {"HF_TOKEN": WRITE_TOKEN}),
        (["index", "info", REPO], {}),
        (["ask", "--index", REPO, "How do I sign up?"], {}),
        (["rollback", "main"], {"FAQ_INDEX": REPO}),
    ]


@pytest.mark.parametrize("which", range(5), ids=["publish", "index-push", "index-info", "ask", "rollback"])
def test_a_hub_that_cannot_be_reached_is_a_failed_service_said_once(
    run_cli: Run, tmp_path: Path, sample_index_dir: Path, which: int
) -> None:
    """Exit 1 and the one line, after the few bounded attempts: no retry warnings, nothing printed twice."""
    write(tmp_path / "faqs.csv", SOURCE)
    args, env = hub_commands(sample_index_dir)[which]
    endpoint = closed_endpoint()
    result = run_cli(args, **online(endpoint, **env))
    line = assert_clean_error(result, 1)
    assert f"the Hub at {endpoint}" in line and "Connection refused" in line
    assert WRITE_TOKEN not in result.err + result.out


def test_a_user_name_that_is_neither_a_folder_nor_a_dataset_says_both(run_cli: Run, tmp_path: Path) -> None:
    with HubStub() as hub:
        missing = run_cli(["index", "info", "nosuch/dir"], **online(hub.origin))
    assert assert_clean_error(missing, 2) == ("faq-bot: error: there is no folder nosuch/dir here, and the Hub has "
                                              "no dataset nosuch/dir (or the token may not see it)")
    endpoint = closed_endpoint()
    down = run_cli(["ask", "--index", "nosuch/dir", "hello?"], **online(endpoint))
    assert assert_clean_error(down, 1).startswith(
        f"faq-bot: error: there is no folder nosuch/dir here, and the Hub at {endpoint} could not be reached")


@pytest.mark.parametrize("location", ["nosuch/dir/here", "./nosuch", "nosuch/faqs.csv"])
def test_a_mistyped_path_is_never_taken_for_a_hub_id(run_cli: Run, location: str) -> None:
    """Not asked of the Hub at all, so said at once even with a Hub configured that does not answer."""
    result = run_cli(["ask", "--index", location, "hello?"], **online(closed_endpoint()))
    assert assert_clean_error(result, 2) == f"faq-bot: error: no such folder {location!r}, and not a Hub dataset id " \
                                            "(user/name)"


def test_the_hub_is_asked_a_bounded_number_of_times(hub: HubStub, sample_index_dir: Path) -> None:
    """Only an outage (5xx, 429) is asked again, at most HUB_ATTEMPTS times in all; an answer ends it."""
    hub.upload_folder(REPO, sample_index_dir)

    def asked() -> int:
        return sum(1 for r in hub.requests if r.path.startswith(f"/api/datasets/{REPO}/revision/"))

    hub.fail_next(503, 429)
    assert head_commit(REPO, endpoint=hub.origin) == hub.head(REPO)
    assert asked() == 3
    hub.fail_next(*[503] * (HUB_ATTEMPTS + 1))
    with pytest.raises(HubDownError, match=f"could not be reached for {REPO}@main: .*\\({HUB_ATTEMPTS} attempts\\)"):
        head_commit(REPO, endpoint=hub.origin)
    assert asked() == 3 + HUB_ATTEMPTS and len(hub.outage) == 1  # the last failure was never asked for
    hub.outage.clear()
    with pytest.raises(RepoNotFoundError):
        head_commit("acme/none", endpoint=hub.origin)
    assert sum(1 for r in hub.requests if "acme/none" in r.path) == 1  # a refusal is not asked again


def test_the_hub_clients_own_retry_warnings_are_logged_once(
    run_cli: Run, hub: HubStub, sample_index_dir: Path
) -> None:
    """``huggingface_hub`` logs its retries through a handler of its own: they reach stderr once, ours."""
    hub.upload_folder(REPO, sample_index_dir)
    hub.fail_next(503, path="/tree/")
    result = run_cli(["index", "info", REPO], **online(hub.origin))
    assert result.code == 0, result.err
    lines = result.err.splitlines()
    assert lines and all(" WARNING huggingface_hub." in line for line in lines), result.err  # our format
    messages = [line.split(": ", 1)[1] for line in lines]
    assert any("503" in message for message in messages) and len(set(messages)) == len(messages), result.err


# -- settings and arguments ----------------------------------------------------------------------
def test_an_env_file_that_is_not_utf8_is_one_line(run_cli: Run, tmp_path: Path) -> None:
    write(tmp_path / ".env", "LOG_LEVEL=INFO\nFAQ_HANDOFF_TEXT=Ask the caf\xe9 desk\n".encode("latin-1"))
    for args in (["status"], ["ask", "hello?"], ["db", "upgrade"]):
        line = assert_clean_error(run_cli(args), 2)
        assert line == (f"faq-bot: error: {tmp_path / '.env'} is not UTF-8 text: byte 0xe9 at offset 43 (line 2) "
                        "cannot be decoded; save the file as UTF-8")
    assert not (tmp_path / "faq_bot.db").exists()


def test_a_revision_is_refused_for_an_index_that_has_none(run_cli: Run, sample_index_dir: Path) -> None:
    asked = run_cli(["ask", "--index", str(sample_index_dir), "--revision", "main", "hello?"])
    assert assert_clean_error(asked, 2) == (
        f"faq-bot: error: --revision applies to a Hub dataset (user/name), and {sample_index_dir} is a local index "
        "folder, which serves only its current build: leave --revision out")
    pinned = run_cli(["ask", "--revision", "main", "hello?"], FAQ_INDEX=str(sample_index_dir))
    assert "is a local index folder, which serves only its current build" in assert_clean_error(pinned, 2)
    sample = run_cli(["ask", "--revision", "main", "hello?"])
    assert assert_clean_error(sample, 2) == ("faq-bot: error: --revision needs a Hub dataset: give --index user/name "
                                             "(or set FAQ_INDEX); the bundled sample has no revisions")
    info = run_cli(["index", "info", str(sample_index_dir), "--revision", "abc"])
    assert "is a local index folder, which serves only its current build" in assert_clean_error(info, 2)
    assert load_index(sample_index_dir).revision.startswith("local-")  # its build, the only revision it has
