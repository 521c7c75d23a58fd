"""How a command reads its FAQ sources: ``index build``, ``publish`` and ``sync``
take one or more, read whole (:func:`faq_core.sources.load_sources`) before
anything is embedded, written or pushed."""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from pathlib import Path

from bot.settings import BotSettings
from faq_core.sources import HelpCenterAuth, SourceSet, is_url, load_sources


def source_options(parser: argparse.ArgumentParser) -> None:
    """The options of a command that reads FAQ sources (``index build``, ``publish``, ``sync``)."""
    parser.add_argument("--sheet", default=None, help="the sheet of each .xlsx source to read (default: the first)")


def read_sources(sources: Sequence[str], args: argparse.Namespace, settings: BotSettings) -> SourceSet:
    """Every source of a command, read whole before anything is embedded or written."""
    return load_sources(sources, sheet=args.sheet, auth=HelpCenterAuth.from_settings(settings))


def local_sources(sources: Sequence[str]) -> list[Path]:
    """The sources that are files (an output folder must never replace one)."""
    return [Path(source) for source in sources if not is_url(source)]


def per_source(read: SourceSet) -> str:
    """`` (faq.html 6, extra.csv 2)``: how many FAQs each source gave, when there are several."""
    if len(read.labels) < 2:
        return ""
    counts = {label: 0 for label in read.labels}
    for faq in read.faqs:
        counts[faq.source or ""] += 1
    return " (" + ", ".join(f"{label} {count}" for label, count in counts.items()) + ")"
