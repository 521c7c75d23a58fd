"""The routes table: set, replace, unset and list routes; how a place is
resolved (channel, workspace default, the deployment's FAQ_INDEX, none);
two replicas sharing a database agreeing; and ``faq-bot routes``. On SQLite
and (with ``TEST_DATABASE_URL``) PostgreSQL."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bot.cli import main as cli
from bot.serving.refs import check_ref, parse_ref
from bot.store.database import Store
from bot.store.routes import RouteTable, list_routes, set_route, unset_route
from faq_core.errors import ConfigError

IT, HR, FIN = "acme/it-faq", "acme/hr-faq@main", "acme/finance-faq@" + "a" * 40


def test_a_channel_route_overrides_the_workspace_default_which_covers_the_rest(any_store: Store) -> None:
    table = RouteTable(any_store)
    assert table.set("slack", "T1", "", IT, by="U1") is False
    assert table.set("slack", "T1", "CHR", HR) is False
    assert table.resolve("slack", "T1", "CHR").index_ref == HR
    assert table.resolve("slack", "T1", "CHR").via == "channel"
    assert table.resolve("slack", "T1", "C-other") .index_ref == IT
    assert table.resolve("slack", "T1", "C-other").via == "workspace"
    # a DM follows the workspace default, even from a channel id that has a route
    assert table.resolve("slack", "T1", "CHR", dm=True).index_ref == IT
    assert table.set("slack", "T1", "CHR", FIN) is True  # replaced
    assert table.resolve("slack", "T1", "CHR").index_ref == FIN
    assert [(r.workspace, r.channel, r.index_ref) for r in list_routes(any_store)] == [
        ("T1", "", IT), ("T1", "CHR", FIN)]
    assert list_routes(any_store)[0].updated_by == "U1"


def test_another_workspace_or_platform_never_gets_a_route_that_is_not_its_own(any_store: Store) -> None:
    table = RouteTable(any_store)
    table.set("slack", "T1", "", IT)
    table.set("slack", "T1", "C1", HR)
    for platform, workspace, channel in (("slack", "T2", "C1"), ("discord", "T1", "C1"), ("slack", None, "C1"),
                                         ("slack", "T2", None)):
        found = table.resolve(platform, workspace, channel)
        assert (found.index_ref, found.via) == (None, "none")
    with_fallback = RouteTable(any_store, fallback="acme/everyone")
    assert with_fallback.resolve("slack", "T2", "C1").index_ref == "acme/everyone"
    assert with_fallback.resolve("slack", "T2", "C1").via == "deployment"
    assert with_fallback.resolve("slack", "T1", "C9").index_ref == IT  # a route beats the deployment's index


def test_unset_falls_back_to_the_default_then_to_nothing(any_store: Store) -> None:
    table = RouteTable(any_store)
    table.set("discord", "111", "", IT)
    table.set("discord", "111", "222", HR)
    assert table.unset("discord", "111", "222") is True
    assert table.resolve("discord", "111", "222").index_ref == IT
    assert table.unset("discord", "111", "222") is False
    assert table.unset("discord", "111") is True
    assert table.resolve("discord", "111", "222").index_ref is None


def test_two_replicas_sharing_a_database_agree_once_the_cache_is_read_again(any_db_url: str) -> None:
    now = [0.0]
    first, second = Store(any_db_url), Store(any_db_url)
    try:
        a = RouteTable(first, ttl=2.0, clock=lambda: now[0])
        b = RouteTable(second, ttl=2.0, clock=lambda: now[0])
        assert b.resolve("slack", "T1", "C1").index_ref is None  # read (and cached) before the change
        a.set("slack", "T1", "C1", IT)
        assert a.resolve("slack", "T1", "C1").index_ref == IT  # the writer: from the next question
        assert b.resolve("slack", "T1", "C1").index_ref is None  # the other replica: still cached
        now[0] = 2.0
        assert b.resolve("slack", "T1", "C1").index_ref == IT  # ... for at most ttl seconds
        b.unset("slack", "T1", "C1")
        now[0] = 4.0
        assert a.resolve("slack", "T1", "C1").index_ref is None
    finally:
        first.close()
        second.close()


@pytest.mark.parametrize(("platform", "workspace", "channel"), [
    ("teams", "T1", ""), ("slack", "", ""), ("slack", "T1\n", ""), ("slack", "T1", "C" * 65),
    ("slack", "T1\\x00", ""), ("slack", "T1", "C-1"), ("discord", "abc", ""), ("discord", "111", "general")])
def test_a_place_no_route_can_have_is_refused(any_store: Store, platform: str, workspace: str, channel: str) -> None:
    with pytest.raises(ValueError) as refused:
        set_route(any_store, platform, workspace, channel, IT)
    assert len(str(refused.value)) < 120  # one short line, whatever was given
    with pytest.raises(ValueError):
        unset_route(any_store, platform, workspace, channel)


def test_index_references_are_checked_in_one_line(tmp_path: Path, sample_index_dir: Path) -> None:
    assert check_ref(" acme/it-faq ") == "acme/it-faq"
    assert check_ref(HR) == HR
    assert parse_ref(HR).location == "acme/hr-faq" and parse_ref(HR).revision == "main"
    assert parse_ref(str(sample_index_dir)).revision is None
    assert check_ref(str(sample_index_dir)) == str(sample_index_dir.resolve())
    (tmp_path / "empty").mkdir()
    (tmp_path / "faqs.csv").write_text("id,question,answer\n")
    for bad, says in (("", "an FAQ index is needed"), ("acme/it@bad rev", "not a branch or commit"),
                      (str(tmp_path / "empty"), "not an FAQ index"), (str(tmp_path / "faqs.csv"), "is a file"),
                      ("no-such-folder", "no such folder"), ("x" * 600, "at most")):
        with pytest.raises(ConfigError, match=says) as raised:
            check_ref(bad)
        assert "\n" not in str(raised.value)


def test_the_routes_command_sets_lists_and_unsets(any_db_url: str, monkeypatch: pytest.MonkeyPatch,
                                                  capsys: pytest.CaptureFixture[str], sample_index_dir: Path) -> None:
    monkeypatch.setenv("DATABASE_URL", any_db_url)
    assert cli.main(["routes", "set", IT, "--platform", "slack", "--workspace", "T1"]) == 0
    assert cli.main(["routes", "set", str(sample_index_dir), "--platform", "slack", "--workspace", "T1",
                     "--channel", "C1"]) == 0
    assert "now answered from" in capsys.readouterr().out
    assert cli.main(["routes", "list"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out == [f"slack\tT1\t(default)\t{IT}", f"slack\tT1\t#C1\t{sample_index_dir.resolve()}",
                   "elsewhere: no FAQ (FAQ_INDEX is not set): the bot says an admin can choose one"]
    assert cli.main(["routes", "list", "--json", "--platform", "discord"]) == 0
    assert capsys.readouterr().out == ""
    assert cli.main(["routes", "list", "--json"]) == 0
    first = json.loads(capsys.readouterr().out.splitlines()[0])
    assert first["channel"] is None and first["index"] == IT and first["updated_by"] == "cli"
    assert cli.main(["routes", "unset", "--platform", "slack", "--workspace", "T1", "--channel", "C1"]) == 0
    assert cli.main(["routes", "unset", "--platform", "slack", "--workspace", "T1", "--channel", "C1"]) == 0
    assert capsys.readouterr().out.splitlines()[-1].endswith("there was no route")
    monkeypatch.setenv("FAQ_INDEX", "acme/everyone")
    assert cli.main(["routes", "list"]) == 0
    assert capsys.readouterr().out.splitlines()[-1] == "elsewhere: acme/everyone (FAQ_INDEX)"


@pytest.mark.parametrize(("args", "says"), [
    (["set", "no-such-folder", "--platform", "slack", "--workspace", "T1"], "no such folder"),
    (["set", "acme/it", "--platform", "slack", "--workspace", " "], "slack workspace id ' ' is not letters and digits"),
    (["unset", "--platform", "discord", "--workspace", "111", "--channel", "x" * 70],
     f"discord channel id '{'x' * 40}…' is not digits"),
])
def test_routes_mistakes_are_one_line_and_status_2(db_url: str, monkeypatch: pytest.MonkeyPatch,
                                                   capsys: pytest.CaptureFixture[str], args: list[str],
                                                   says: str) -> None:
    monkeypatch.setenv("DATABASE_URL", db_url)
    assert cli.main(["routes", *args]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("faq-bot: error: ") and says in err and "\n" not in err


def test_listing_routes_never_creates_a_store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'none.db'}")
    assert cli.main(["routes", "list"]) == 2
    assert "there is no store yet" in capsys.readouterr().err
    assert not (tmp_path / "none.db").exists()
