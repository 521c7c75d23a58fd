"""The newer commands (routes, --workspace/--guild) given ids a hostile or
careless user types: each is refused in one short line with status 2, the same
way everywhere, and never silently ignored."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from tests.cli.test_cli import assert_clean_error
from tests.conftest import CLIResult

Run = Callable[..., CLIResult]
HUGE = "C" * 10_000


@pytest.mark.parametrize("args", [
    ["routes", "set", "acme/faq", "--platform", "slack", "--workspace", "T1", "--channel", HUGE],
    ["routes", "set", "acme/faq", "--platform", "slack", "--workspace", HUGE],
    ["review", "--workspace", HUGE],
    ["digest", "--print", "--guild", HUGE],
], ids=["route-channel", "route-workspace", "review-workspace", "digest-guild"])
def test_a_huge_id_is_refused_without_echoing_it_whole(run_cli: Run, args: list[str]) -> None:
    assert run_cli(["db", "upgrade"]).code == 0
    line = assert_clean_error(run_cli(args), 2)
    assert len(line) < 400, len(line)


@pytest.mark.parametrize("workspace", ["T\x07", "T1/../x", "ワーク"])
def test_status_refuses_a_workspace_id_that_is_not_one(run_cli: Run, workspace: str) -> None:
    assert run_cli(["db", "upgrade"]).code == 0
    line = assert_clean_error(run_cli(["status", "--workspace", workspace]), 2)
    assert "is not letters and digits" in line


def test_a_route_for_a_workspace_id_no_platform_has_is_refused(run_cli: Run) -> None:
    assert run_cli(["db", "upgrade"]).code == 0
    line = assert_clean_error(run_cli(["routes", "set", "acme/faq", "--platform", "discord",
                                       "--workspace", "ワーク"]), 2)
    assert "discord workspace id 'ワーク' is not digits" in line
    assert run_cli(["routes", "list"]).out.count("ワーク") == 0


@pytest.mark.parametrize(("name", "value", "args"), [
    ("FAQ_RELOAD_SECONDS", "inf", ["status"]),
    ("FAQ_MEMORY_BUDGET_MB", "inf", ["routes", "list"]),
    ("FAQ_MEMORY_BUDGET_MB", "-inf", ["routes", "list"]),
    ("FAQ_MEMORY_BUDGET_MB", "nan", ["routes", "list"]),
])
def test_a_setting_of_infinity_is_a_setting_error_not_a_crash_later(
    run_cli: Run, name: str, value: str, args: list[str]
) -> None:
    assert run_cli(["db", "upgrade"]).code == 0
    line = assert_clean_error(run_cli(args, **{name: value}), 2)
    assert line.startswith(f"faq-bot: error: {name} must be ") and repr(value) in line
