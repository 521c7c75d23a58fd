"""The README is a short front door and the docs cannot silently rot: every
relative link (and its #anchor) in README.md and docs/ leads somewhere, and
every ``make``, ``faq-bot`` and ``python -m`` command they quote would run
(checked against the Makefile's targets and the real argparse parsers)."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest

from tests.ops.commands import ROOT, bot_problem, command_problem, faq_bot_problem

PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
README_MAX_LINES = 220  # "at most ~200": room for a platform's short section, not for a user guide
BLOG_POST = "Embedding-as-a-Service using Sentence Transformers, the Hugging Face Inference API, and 🤗 Datasets"
PLACEHOLDER = re.compile(r"\.\.\.|…")


def page_id(page: Path) -> str:
    return str(page.relative_to(ROOT))


def slug(heading: str) -> str:
    """GitHub's anchor for a heading."""
    text = re.sub(r"[`*_]", "", heading.strip().lower()).replace("_", "")
    text = re.sub(r"[^\w\- ]", "", text)
    return text.replace(" ", "-")


def anchors(page: Path) -> set[str]:
    text = strip_fences(page.read_text(encoding="utf-8"))
    return {slug(m.group(1)) for m in re.finditer(r"^#{1,6} (.+)$", text, re.MULTILINE)}


def strip_fences(text: str) -> str:
    return re.sub(r"^```.*?^```", "", text, flags=re.MULTILINE | re.DOTALL)


def links(page: Path) -> list[str]:
    text = strip_fences(page.read_text(encoding="utf-8"))
    text = re.sub(r"`[^`\n]*`", "", text)  # code spans are not links
    return re.findall(r"\]\(([^)\s]+)\)", text)


@pytest.mark.parametrize("page", PAGES, ids=page_id)
def test_every_relative_link_and_anchor_exists(page: Path) -> None:
    broken = []
    for target in links(page):
        if re.match(r"[a-z]+:", target):  # https:, mailto:
            continue
        path, _, anchor = target.partition("#")
        destination = (page.parent / path).resolve() if path else page
        if not destination.exists():
            broken.append(f"{target}: no such file")
        elif anchor and destination.suffix == ".md" and anchor not in anchors(destination):
            broken.append(f"{target}: no heading #{anchor} in {destination.name}")
    assert not broken, f"{page_id(page)}: " + "; ".join(broken)


def quoted_commands(page: Path) -> list[str]:
    """Command lines in fenced shell blocks, and code spans that start with a command."""
    text = page.read_text(encoding="utf-8")
    found = []
    for lang, block in re.findall(r"^```(\w*)\n(.*?)^```", text, flags=re.MULTILINE | re.DOTALL):
        if lang not in ("sh", "console", "bash", ""):
            continue
        for line in re.sub(r"\\\n\s*", " ", block).splitlines():  # continuation lines joined
            line = line.strip().removeprefix("$ ")
            if re.match(r"([A-Z_]+=\S+ )*(\S*/)?(make|faq-bot|python3?) ", line + " "):
                found.append(line)
    for span in re.findall(r"`([^`\n]+)`", strip_fences(text)):
        if re.match(r"([A-Z_]+=\S+ )*(\.venv/bin/)?(make|faq-bot) ", span + " ") or span.startswith("python -m "):
            found.append(span)
    return found


def words_of(command: str) -> list[list[str]]:
    """The simple commands of a line (pipes, && and ; split it; a trailing comment and a
    redirection's target are dropped; ``[optional]`` parts are kept, unbracketed)."""
    command = re.split(r"\s+#\s", command)[0]
    try:
        words = shlex.split(command)
    except ValueError:
        words = command.split()
    commands: list[list[str]] = [[]]
    redirected = False
    for word in words:
        if word in ("|", "&&", ";"):
            commands.append([])
            redirected = False
        elif re.fullmatch(r"\d?(>>?|<)", word):
            redirected = True
        elif not redirected:
            commands[-1].append(word.removeprefix("[").removesuffix("]"))
    return [[w.rsplit("/", 1)[-1] if i == 0 else w for i, w in enumerate(c)] for c in commands if c]


def sub_commands(args: list[str]) -> list[str]:
    """The leading sub-command words of a faq-bot command line."""
    chain = []
    for word in args:
        if not re.fullmatch(r"[a-z][a-z0-9-]*", word) or len(chain) == 2:
            break
        chain.append(word)
    return chain


def problem(command: str) -> str | None:
    for words in words_of(command):
        plain = [w for w in words if not re.fullmatch(r"[A-Z_][A-Z0-9_]*=\S*", w)]
        if not plain or plain[0] not in ("make", "faq-bot", "python", "python3"):
            continue
        found = command_problem(words)
        if found and plain[0] == "faq-bot" and (PLACEHOLDER.search(command) or "required" in found):
            # a placeholder or an elided argument: the sub-command itself must exist
            found = faq_bot_problem([*sub_commands(plain[1:]), "--help"])
        if found:
            return found
        if plain[0] == "make":
            extra = next((w.split("=", 1)[1] for w in plain if w.startswith("ARGS=")), None)
            if extra is not None and "run" in plain:
                found = bot_problem(shlex.split(extra))
                if found:
                    return found
    return None


@pytest.mark.parametrize("page", PAGES, ids=page_id)
def test_every_quoted_make_and_faq_bot_command_exists(page: Path) -> None:
    commands = quoted_commands(page)
    broken = [f"{c!r}: {p}" for c in commands if (p := problem(c))]
    assert not broken, f"{page_id(page)}: " + "; ".join(broken)


def test_the_command_check_catches_what_would_not_run() -> None:
    assert problem("make tset") == "no make target tset"
    assert problem("FAQ_INDEX=./x make run") is None
    assert "invalid choice" in (problem(".venv/bin/faq-bot index bild faqs.csv --out ./x") or "")
    assert problem('make run ARGS="--http --prot 3000"') is not None
    assert problem("faq-bot index import-seed ... --out DIR") is None
    assert problem("faq-bot indx ...") is not None
    assert problem("python -m bot slack --http --port 3000") is None
    assert problem("python -m no_such_module") == "no module no_such_module"
    assert problem("faq-bot ask --json > out.jsonl") is None  # a redirection is not an argument


def test_the_readme_is_a_short_front_door() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert len(readme.splitlines()) <= README_MAX_LINES
    assert " ".join(readme.split()).count(BLOG_POST) == 1  # the blog post it started from, named by its title, once
    for wording in ("seed article", "the issue", "the article"):
        assert wording not in readme.lower()
    for needed in ("make demo", "make test", "## Connect to Slack", "## Use your own FAQs", "## Settings",
                   "not built in CI here"):
        assert needed in readme
    for page in ("slack", "faqs-and-the-hub", "answer-quality", "operations", "benchmarks", "design"):
        assert f"(docs/{page}.md)" in readme
