"""faq-bot: ask questions, and build, import and publish FAQ indexes.

Every failure the user can fix is printed as one line, ``faq-bot: error: ...``,
with exit status 2 (bad input or settings) or 1 (a service failed); never a
stack trace. Output piped into a reader that stops early (``| head -1``) ends
the command quietly with status 141, as it ends ``cat`` or ``grep``.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import shlex
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path

from bot.cli.evaluate import add_commands as add_eval_commands
from bot.cli.release import add_commands as add_release_commands
from bot.cli.routes import add_commands as add_routes_commands
from bot.cli.sources import local_sources, per_source, read_sources, source_options
from bot.cli.tenants import add_tenant_options
from bot.settings import BotSettings
from faq_core.answer import Answer, Outcome
from faq_core.duplicates import describe_groups, find_duplicates
from faq_core.embedders import make_embedder
from faq_core.engine import FAQEngine, load_configured_index
from faq_core.errors import FAQBotError, exit_status
from faq_core.faqs import extra_columns_note
from faq_core.index import build_index_from_sources, check_out_folder, kept_files_note, load_index, save_index
from faq_core.logs import setup_logging
from faq_core.threshold import method_words, with_auto_threshold

log = logging.getLogger("faq_bot")

EXIT_PIPE_CLOSED = 128 + 13  # 128 + SIGPIPE, what a shell reports for a tool a closed pipe stopped

Handler = Callable[[argparse.Namespace, BotSettings], int]
SCORE_WIDTH = len("100% confidence")  # the table's score column, right-aligned


def build_parser() -> argparse.ArgumentParser:
    """The whole command line, one sub-command per job."""
    parser = argparse.ArgumentParser(prog="faq-bot", description=__doc__.splitlines()[0])
    parser.add_argument("-v", "--verbose", action="store_true", help="log at DEBUG level")
    parser.add_argument("--version", action="version", version=f"%(prog)s {installed_version()}",
                        help="print the installed version and exit")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    ask = sub.add_parser("ask", help="answer questions from the FAQ index")
    ask.add_argument("questions", nargs="+", metavar="QUESTION", help="questions; '-' reads one per line from stdin")
    _index_options(ask)
    ask.add_argument("-k", type=int, default=None, help="matches per question (default FAQ_TOP_K, 3)")
    ask.add_argument("--json", action="store_true", help="one JSON object per line")
    ask.add_argument("--record", action="store_true",
                     help="record each question in the store (DATABASE_URL) as the bots do (platform 'cli'), "
                          "so 'faq-bot review' lists the ones missed")
    ask.set_defaults(handler=cmd_ask)

    index = sub.add_parser("index", help="build, import, inspect and publish FAQ indexes")
    isub = index.add_subparsers(dest="index_command", required=True, metavar="ACTION")
    build = isub.add_parser("build", help="embed one or more FAQ sources into an index folder",
                            description="Read every SOURCE (an FAQ page, Markdown, a help-center export, .xlsx, CSV "
                                        "or JSONL; a file or an http(s) URL) into one index; any source that "
                                        "fails refuses the build and nothing is written.")
    build.add_argument("sources", nargs="+", metavar="SOURCE")
    source_options(build)
    _out_options(build)
    build.set_defaults(handler=cmd_build)
    push = isub.add_parser("push", help="publish an index folder as a Hugging Face Hub dataset")
    push.add_argument("folder", type=Path)
    push.add_argument("repo_id", help="user/name or org/name")
    push.add_argument("--private", action="store_true")
    push.set_defaults(handler=cmd_push)
    seed = isub.add_parser("import-seed", help="import the blog article's embeddings-only CSV")
    seed.add_argument("embeddings", type=Path, help="CSV with one row of numbers per FAQ")
    seed.add_argument("questions", type=Path, help="FAQ source, or .txt with one question per line, same order")
    _out_options(seed)
    seed.add_argument("--model", default=None, help="model that made the vectors (default EMBEDDING_MODEL)")
    seed.set_defaults(handler=cmd_import_seed)
    info = isub.add_parser("info", help="print an index's metadata")
    info.add_argument("location", help="folder or user/name")
    info.add_argument("--revision", default=None)
    info.add_argument("--faqs", action="store_true",
                      help="instead, one JSON line per FAQ: id, question, alternates, tags, metadata and source")
    info.set_defaults(handler=cmd_info)
    add_eval_commands(sub)
    add_release_commands(sub, isub)
    db = sub.add_parser("db", help="manage the bot's store (DATABASE_URL)")
    dsub = db.add_subparsers(dest="db_command", required=True, metavar="ACTION")
    upgrade = dsub.add_parser("upgrade", help="apply the store's schema migrations (the bot also does at start-up)")
    upgrade.set_defaults(handler=cmd_db_upgrade)
    _add_review(sub)
    _add_digest(sub)
    add_routes_commands(sub)
    return parser


def installed_version() -> str:
    """The version of the installed ``faq-bot`` package (its metadata, so a
    release says what was installed), or a note when it runs uninstalled."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("faq-bot")
    except PackageNotFoundError:
        return "(not installed: run from a source checkout)"


def _add_digest(sub: argparse._SubParsersAction) -> None:
    """``faq-bot digest``: print the review digest the bot posts to DIGEST_CHANNEL."""
    digest = sub.add_parser(
        "digest", help="print the review digest (questions seen, rates, top unanswered clusters)",
        description="Print the digest of the latest ended period (DIGEST_EVERY_DAYS, weekly by default), as the "
                    "bot posts it to DIGEST_CHANNEL; --current: the period still running, so far. This never "
                    "posts: the bot does.")
    digest.add_argument("--print", action="store_true", dest="print_digest",
                        help="print it (what this command always does; kept for older scripts)")
    digest.add_argument("--current", action="store_true", help="the period still running, up to now")
    digest.add_argument("--no-clusters", action="store_true",
                        help="skip the clusters (no model is loaded: fast, and works without the index)")
    add_tenant_options(digest)
    _index_options(digest)
    digest.set_defaults(handler=cmd_digest)


def cmd_digest(args: argparse.Namespace, settings: BotSettings) -> int:
    """Print the review digest (:mod:`bot.features.digest`)."""
    from datetime import UTC, datetime, timedelta

    from bot.cli.tenants import resolve_scope
    from bot.features.digest import Period, build_digest, digest_text, last_period
    from bot.store.database import open_store

    now = datetime.now(UTC)
    period = last_period(now, settings.digest_every_days)
    if args.current:
        period = Period(period.end, max(now, period.end + timedelta(seconds=1)))
    store = open_store(settings.database_url, create=False)
    try:
        scope = resolve_scope(store, args)
        engine = None if args.no_clusters else engine_for(args, settings)
        print(digest_text(build_digest(store, engine, period, scope)))
    finally:
        store.close()
    return 0


def _at_least(kind: Callable[[str], float], low: float) -> Callable[[str], float]:
    """An argparse type: a number of ``kind`` no smaller than ``low``."""
    def parse(raw: str) -> float:
        try:
            value = kind(raw)
        except ValueError:
            raise argparse.ArgumentTypeError(f"not a number: {raw!r}") from None
        if not value >= low:
            raise argparse.ArgumentTypeError(f"must be at least {low:g}, got {raw}")
        return value

    return parse


def _add_review(sub: argparse._SubParsersAction) -> None:
    """``faq-bot review [OPTIONS] [ACTION]``: the review loop's commands."""
    review = sub.add_parser(
        "review", help="cluster the questions the bot missed, decide on them, apply the decisions",
        description="With no ACTION: the clusters of recent misses (abstentions, near-ties, not-helpful answers, "
                    "other FAQs picked), most people first. Options go before the ACTION.")
    review.add_argument("--days", type=_at_least(float, 0.001), default=30.0,
                        help="look back this many days (default 30)")
    review.add_argument("--limit", type=_at_least(int, 0), default=20, help="clusters to list (0: all; default 20)")
    review.add_argument("--format", choices=("table", "csv", "jsonl"), default="table")
    add_tenant_options(review)
    _index_options(review)
    rsub = review.add_subparsers(dest="review_command", metavar="ACTION")
    for name, text in (("accept", "add a cluster's questions as phrasings of an FAQ (default: the suggested one)"),
                       ("new", "draft a new FAQ from a cluster"),
                       ("dismiss", "keep a cluster's questions out of later reviews")):
        decide = rsub.add_parser(name, help=text)
        decide.add_argument("cluster", help="the cluster id (or a unique prefix) as 'faq-bot review' lists it")
        decide.add_argument("--by", default=None, help="who decided (kept with the decision)")
        if name == "accept":
            decide.add_argument("--faq", default=None, metavar="ID", help="the FAQ they are phrasings of")
        if name == "new":
            decide.add_argument("--answer", required=True)
            decide.add_argument("--question", default=None, help="default: the cluster's most asked question")
            decide.add_argument("--url", default=None)
    apply = rsub.add_parser("apply", help="write a new FAQ source with the accepted and new FAQs")
    apply.add_argument("--source", type=Path, required=True, help="the FAQ source (CSV or JSONL); never changed")
    apply.add_argument("--out", type=Path, required=True, help="the new source to write")
    apply.add_argument("--force", action="store_true", help="replace --out if it exists (never the source)")
    rsub.add_parser("decisions", help="list the decisions made so far")
    review.set_defaults(handler=cmd_review)


def cmd_review(args: argparse.Namespace, settings: BotSettings) -> int:
    """The review loop (:mod:`bot.features.review`, imported only for this command)."""
    from bot.cli.review import run

    return run(args, settings, engine_for)


def _out_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--out", type=Path, required=True,
                        help="index folder to write: a new path, an empty folder or an existing index (its index "
                             "files are replaced, every other file is kept)")
    parser.add_argument("--force", action="store_true",
                        help="write into --out even if it is a folder that is not an index (its files are kept), "
                             "or replace a file there (never the source, the current folder, a home, system or "
                             "git folder, a mount point or a device)")


def _index_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--index", default=None, help="index folder or Hub user/name (default FAQ_INDEX)")
    parser.add_argument("--revision", default=None, help="Hub revision (default FAQ_INDEX_REVISION)")


def refuse_local_revision(location: str | None, revision: str | None) -> None:
    """``--revision`` names a commit or branch of a Hub dataset: refuse it for
    a local folder or the bundled sample, which have none, rather than ignore it."""
    if revision is None:
        return
    if not location:
        raise FAQBotError("--revision needs a Hub dataset: give --index user/name (or set FAQ_INDEX); "
                          "the bundled sample has no revisions")
    if Path(location).is_dir():
        raise FAQBotError(f"--revision applies to a Hub dataset (user/name), and {location} is a local index "
                          "folder, which serves only its current build: leave --revision out")


def engine_for(args: argparse.Namespace, settings: BotSettings) -> FAQEngine:
    """The engine for a command: ``--index``/``--revision`` override the settings."""
    if getattr(args, "index", None):
        settings = replace(settings, faq_index=args.index, faq_index_revision=args.revision)
    elif getattr(args, "revision", None):
        settings = replace(settings, faq_index_revision=args.revision)
    refuse_local_revision(settings.faq_index, getattr(args, "revision", None))
    embedder = make_embedder(settings)
    return FAQEngine(load_configured_index(settings, embedder), embedder, min_score=settings.faq_min_score)


def read_questions(items: Sequence[str]) -> list[str]:
    """Arguments, with ``-`` expanded to the non-empty lines of stdin."""
    questions: list[str] = []
    for item in items:
        if item == "-":
            questions.extend(line.strip() for line in sys.stdin if line.strip())
        else:
            questions.append(item)
    return questions


def cmd_ask(args: argparse.Namespace, settings: BotSettings) -> int:
    """Answer each question; a table, or JSON lines with ``--json``."""
    k = settings.faq_top_k if args.k is None else args.k
    if k < 1:
        raise FAQBotError("-k must be at least 1")
    questions = read_questions(args.questions)
    recording = None
    if args.record:  # opened before the model loads: a store that cannot be used says so at once
        from bot.cli.terminal import TerminalRecorder

        recording = TerminalRecorder(settings)
    try:
        engine = engine_for(args, settings)
        example = engine.info.example
        started = time.perf_counter()
        answers = engine.answer_many(questions, k)
        seconds = (time.perf_counter() - started) / max(len(answers), 1)
        for question, answer in zip(questions, answers, strict=True):
            if recording is not None:  # through the bots' recorder, as platform "cli"
                recording.record(engine, question, answer, seconds)
            if args.json:
                print(json.dumps(answer.to_dict(), ensure_ascii=False))
            else:
                print(format_answer(answer, example))
    finally:
        if recording is not None:
            recording.close()
    return 0


def shell_quoted(text: str) -> str:
    """``text`` as one shell argument: in double quotes when that is safe, else single-quoted."""
    return f'"{text}"' if not set(text) & set('"$`\\!') else shlex.quote(text)


def format_answer(answer: Answer, example: str = "") -> str:
    """A readable block for one answer (the CLI's table); ``example`` is a
    question of the served index, suggested when the question was empty."""
    lines = [f"Q: {answer.query or '(empty)'}"]
    if answer.outcome is Outcome.EMPTY_QUERY:
        suggestion = f"faq-bot ask {shell_quoted(example)}" if example else "faq-bot ask \"your question\""
        lines.append(f"   Ask me a question, e.g. {suggestion}")
        return "\n".join(lines) + "\n"
    bar = f"threshold {answer.threshold:.3f} ({answer.threshold_source})"
    if answer.answered:
        lines.append(f"   answered: confidence {answer.confidence:.3f} >= {bar}")
    elif answer.ambiguous:
        lines.append(f"   one of these? the top two are near-tied: {answer.confidence:.3f} alone < {bar}, "
                     "together above it")
    else:
        lines.append(f"   no confident match: confidence {answer.confidence:.3f} < {bar}; closest FAQs:")
    for rank, match in enumerate(answer.matches, start=1):
        cosine = "" if match.cosine is None else f"  (cosine {match.cosine:.3f})"
        lines.append(f"   {rank}. {match.score_label:>{SCORE_WIDTH}}  {match.question}  [{match.faq_id}]{cosine}")
        if rank == 1 and answer.answered:
            if match.answer:
                lines.append(f"      {match.answer}")
            if match.url:
                lines.append(f"      source: {match.url}")
    return "\n".join(lines) + "\n"


def cmd_build(args: argparse.Namespace, settings: BotSettings) -> int:
    """Embed the sources into an index folder; the folder is written only on success."""
    files = local_sources(args.sources)
    check_out_folder(args.out, sources=files, force=args.force)  # refuse before the slow parts
    read = read_sources(args.sources, args, settings)
    embedder = make_embedder(settings)
    index = with_auto_threshold(build_index_from_sources(read, embedder, progress=sys.stderr.isatty()))
    save_index(index, args.out, sources=files, force=args.force)
    print(f"wrote {args.out}: {len(index.faqs)} FAQs{per_source(read)}, {len(index.texts)} phrasings, "
          f"{index.meta.model_id} ({index.dim} dimensions, {embedder.backend} backend)")
    auto = index.meta.auto_threshold
    if auto:
        print(f"automatic threshold {auto['threshold']:.3f} ({method_words(auto['method'])})")
    for line in describe_groups(find_duplicates(index), [f.id for f in index.faqs], [f.question for f in index.faqs]):
        print(f"near-duplicates: {line}")
    if index.meta.metadata_columns:
        print(f"faq-bot: note: {extra_columns_note(index.meta.metadata_columns)}", file=sys.stderr)
    _note_kept_files(args.out)
    return 0


def _note_kept_files(out: Path) -> None:
    """Say which files of an index folder were kept beside the new index."""
    note = kept_files_note(out)
    if note:
        print(f"faq-bot: note: {note}", file=sys.stderr)


def cmd_push(args: argparse.Namespace, settings: BotSettings) -> int:
    """Publish an index folder; print the commit id to pin."""
    from faq_core.publish import push_folder

    if not settings.hf_token:
        raise FAQBotError("HF_TOKEN is not set: pushing to the Hub needs a token with write access")
    commit = push_folder(args.folder, args.repo_id, private=args.private, token=settings.hf_token,
                         endpoint=settings.hf_endpoint).commit
    print(f"pushed {args.folder} to datasets/{args.repo_id} at commit {commit}")
    print(f"serve it with: FAQ_INDEX={args.repo_id} FAQ_INDEX_REVISION={commit}")
    return 0


def cmd_import_seed(args: argparse.Namespace, settings: BotSettings) -> int:
    """Turn the article's embeddings CSV plus questions into an index folder."""
    from faq_core.seed_import import import_seed

    sources = [args.embeddings, args.questions]
    check_out_folder(args.out, sources=sources, force=args.force)
    index = import_seed(args.embeddings, args.questions, args.model or settings.embedding_model)
    save_index(index, args.out, sources=sources, force=args.force)
    print(f"wrote {args.out}: {len(index.faqs)} FAQs imported, {index.meta.model_id} ({index.dim} dimensions)")
    _note_kept_files(args.out)
    return 0


def cmd_info(args: argparse.Namespace, settings: BotSettings) -> int:
    """Print an index's metadata as JSON (with ``--faqs``: its FAQs, one JSON line each)."""
    from dataclasses import asdict

    from faq_core.scoring import default_version
    from faq_core.threshold import AUTOMATIC, stored_threshold

    refuse_local_revision(args.location, args.revision)
    index = load_index(args.location, args.revision, endpoint=settings.hf_endpoint)
    if args.faqs:
        for faq in index.faqs:
            print(json.dumps({"id": faq.id, "question": faq.question, "alternates": list(faq.alternates),
                              "tags": list(faq.tags), "metadata": dict(faq.metadata), "source": faq.source},
                             ensure_ascii=False))
        return 0
    stored = stored_threshold(index.meta, default_version(index))
    in_use: dict[str, object] = (
        {"value": settings.faq_min_score, "source": "FAQ_MIN_SCORE"} if settings.faq_min_score is not None
        else {"value": stored[0], "source": stored[1]} if stored
        else {"value": None, "source": "automatic, estimated when the engine starts (rebuild to store it)"})
    if in_use["source"] == AUTOMATIC:
        in_use["method"] = method_words(str(index.meta.auto_threshold.get("method", "")))
    ids, questions = [f.id for f in index.faqs], [f.question for f in index.faqs]
    found = find_duplicates(index)
    duplicates = [{"faq_ids": [ids[f] for f in group], "advice": line}
                  for group, line in zip(found.groups, describe_groups(found, ids, questions), strict=True)]
    print(json.dumps({"location": index.location, "revision": index.revision, **asdict(index.meta),
                      "threshold": in_use, "duplicates": duplicates}, indent=2))
    return 0


def cmd_db_upgrade(args: argparse.Namespace, settings: BotSettings) -> int:
    """Bring the store at ``DATABASE_URL`` to the newest schema and say from which revision."""
    from bot.store.database import make_engine, store_errors
    from bot.store.migrations import upgrade

    with store_errors(settings.database_url):
        engine = make_engine(settings.database_url)
        try:
            before, after = upgrade(engine)
        finally:
            engine.dispose()
    url = engine.url.render_as_string(hide_password=True)
    print(f"{url}: schema at {after}" + ("" if before == after else f" (was {before or 'empty'})"))
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``faq-bot`` console script: the exit status is 0,
    2 for bad input or settings, 1 when a service failed (:func:`exit_status`),
    141 when the reader of the output went away (``| head``), 130 on Ctrl-C."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        settings = BotSettings.load()
        setup_logging("DEBUG" if args.verbose else settings.log_level if settings.log_level != "INFO" else "WARNING",
                      settings.secrets())
        handler: Handler = args.handler
        code = handler(args, settings)
        sys.stdout.flush()  # here, where a closed pipe is caught, not at exit
        return code
    except FAQBotError as error:
        print(f"faq-bot: error: {error}", file=sys.stderr)
        return exit_status(error)
    except BrokenPipeError:
        return output_closed()
    except KeyboardInterrupt:
        return 130


def output_closed() -> int:
    """The reader of stdout went away (``faq-bot ... | head -1``): stop quietly,
    as Unix tools do, with the status a shell gives a tool a closed pipe stops
    (128 + SIGPIPE). What is still buffered goes to /dev/null, so Python's
    flush at exit cannot fail again."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    os.close(devnull)
    return EXIT_PIPE_CLOSED


if __name__ == "__main__":
    sys.exit(main())
