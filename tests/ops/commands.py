"""Whether a command quoted in the project's files would run: ``python -m
MODULE ...``, ``faq-bot ...`` and ``make TARGET`` are checked against the
real entry points (their argparse parsers, the Makefile's targets), so a
renamed option or module fails a test instead of a reader."""

from __future__ import annotations

import argparse
import contextlib
import importlib
import importlib.util
import io
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _parses(parser: argparse.ArgumentParser, args: list[str]) -> str | None:
    """None when ``parser`` accepts ``args``; else argparse's complaint."""
    err = io.StringIO()
    try:
        with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
            parser.parse_args(args)
    except SystemExit as exit_:
        if exit_.code not in (0, None):  # --help exits 0
            return err.getvalue().strip().splitlines()[-1] if err.getvalue().strip() else f"exit {exit_.code}"
    return None


def faq_bot_problem(args: list[str]) -> str | None:
    """Why ``faq-bot ARGS`` would not parse (None: it would)."""
    from bot.cli.main import build_parser

    return _parses(build_parser(), args)


def bot_problem(args: list[str]) -> str | None:
    """Why ``python -m bot ARGS`` would not start parsing (None: it would)."""
    from bot.cli.run import DEFAULT_PLATFORM, PLATFORMS

    platform = args[0] if args and args[0] in PLATFORMS else DEFAULT_PLATFORM
    rest = args[1:] if args and args[0] in PLATFORMS else args
    module = importlib.import_module(PLATFORMS[platform])
    parser = getattr(module, "_parser", None)
    if parser is None:  # a platform that builds its parser inside main(): only its name can be checked
        return None
    return _parses(parser(), rest)


def module_problem(argv: list[str]) -> str | None:
    """Why ``python -m MODULE ARGS`` (``argv`` starts after ``-m``) would not run."""
    module, args = argv[0], argv[1:]
    if importlib.util.find_spec(module) is None:
        return f"no module {module}"
    if module == "bot":
        return bot_problem(args)
    return None


def make_targets() -> set[str]:
    """The Makefile's targets."""
    text = (ROOT / "Makefile").read_text(encoding="utf-8")
    return {name for name in re.findall(r"^([A-Za-z][\w-]*):", text, re.MULTILINE)}


def command_problem(argv: list[str]) -> str | None:
    """Why ``argv`` (a shell command split into words) would not run, for
    the commands the project provides; None for others (docker, pip, ...)."""
    words = [w for w in argv if not re.fullmatch(r"[A-Z_][A-Z0-9_]*=\S*", w)]  # VAR=value prefixes
    if not words:
        return None
    if words[0] == "make":
        targets = [w for w in words[1:] if not w.startswith("-") and "=" not in w]
        missing = [t for t in targets if t not in make_targets()]
        return f"no make target {', '.join(missing)}" if missing else None
    if words[0] == "faq-bot":
        return faq_bot_problem(words[1:])
    if len(words) >= 3 and re.fullmatch(r"(\S*/)?python3?", words[0]) and words[1] == "-m":
        return module_problem(words[2:])
    return None
