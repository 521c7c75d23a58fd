"""The layers hold at run time too: each package, every module of it imported
alone in a fresh interpreter, loads nothing of the layers above it, nor of a
platform it is not (lint-imports checks the same from the source, in
``make lint``; this also sees what an import made at run time pulls in).

From the bottom: the faq_core library, the service core's sub-packages
(store, serving, conversation, ops, features, then the platform skeleton),
the platforms (Slack, Discord), the command line on top."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

CORE = ["bot.store", "bot.serving", "bot.conversation", "bot.ops", "bot.features", "bot.platform"]
PLATFORMS = ["bot.slack", "bot.discord"]
CHAT_LIBRARIES = {"slack_sdk", "slack_bolt", "discord"}
# Alembic's entry point runs a migration when imported: only Alembic imports it.
SKIPPED = {"bot.store.migrations.env"}

IMPORT_ALL = """
import importlib, json, pkgutil, sys
before = set(sys.modules)
package = importlib.import_module(sys.argv[1])
for info in pkgutil.walk_packages(getattr(package, "__path__", []), package.__name__ + "."):
    if info.name not in set(json.loads(sys.argv[2])):
        importlib.import_module(info.name)
print(json.dumps(sorted(set(sys.modules) - before)))
"""


def loaded_by(package: str) -> set[str]:
    """Every module a fresh interpreter holds once all of ``package`` is imported."""
    proc = subprocess.run([sys.executable, "-c", IMPORT_ALL, package, json.dumps(sorted(SKIPPED))],
                          capture_output=True, text=True, timeout=240)
    assert proc.returncode == 0, proc.stderr
    return set(json.loads(proc.stdout))


def within(modules: set[str], packages: list[str] | set[str]) -> set[str]:
    return {m for m in modules if any(m == p or m.startswith(p + ".") for p in packages)}


def test_the_library_loads_nothing_of_the_bot_of_chat_platforms_or_of_sql() -> None:
    loaded = loaded_by("faq_core")
    assert "faq_core.engine" in loaded and "faq_core.sources.html" in loaded  # it did import the library
    assert not within(loaded, ["bot", *CHAT_LIBRARIES, "sqlalchemy", "alembic"]), sorted(
        within(loaded, ["bot", *CHAT_LIBRARIES, "sqlalchemy", "alembic"]))


@pytest.mark.parametrize("package", CORE)
def test_each_part_of_the_core_loads_no_part_above_it_and_no_platform(package: str) -> None:
    loaded = loaded_by(package)
    above = CORE[CORE.index(package) + 1:]
    assert package in loaded
    assert not within(loaded, [*above, *PLATFORMS, "bot.cli", *CHAT_LIBRARIES]), sorted(
        within(loaded, [*above, *PLATFORMS, "bot.cli", *CHAT_LIBRARIES]))


@pytest.mark.parametrize(("package", "other", "libraries"), [
    ("bot.slack", "bot.discord", {"discord"}),
    ("bot.discord", "bot.slack", {"slack_sdk", "slack_bolt"}),
])
def test_each_platform_loads_nothing_of_the_other_nor_of_the_command_line(package: str, other: str,
                                                                          libraries: set[str]) -> None:
    loaded = loaded_by(package)
    assert f"{package}.main" in loaded and "bot.platform" in loaded  # it runs on the core's skeleton
    assert not within(loaded, [other, "bot.cli", *libraries]), sorted(within(loaded, [other, "bot.cli", *libraries]))
