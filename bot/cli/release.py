"""The release commands: ``faq-bot publish``, ``faq-bot sync``, ``faq-bot index diff``,
``faq-bot status`` and ``faq-bot rollback``.

``publish`` reads the labelled questions of the store at ``DATABASE_URL``
(``bot.features.recording.labelled_questions``: helpful votes and "Did you mean…?"
picks) when that store exists, plus any ``--queries``
file; ``status`` and ``rollback`` read and write the store's replica table
and pin (:mod:`bot.serving.replicas`), which every running replica consults.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bot.cli.sources import local_sources, read_sources, source_options
from bot.cli.tenants import add_tenant_options, chosen_tenant, resolve_scope
from bot.errors import NoStoreError
from bot.settings import BotSettings
from faq_core.errors import ConfigError, FAQBotError, FAQSourceError
from faq_core.evaluation import LabelledQuery, load_queries
from faq_core.hub import DEFAULT_BRANCH, head_commit, is_commit_id
from faq_core.index import LOCAL_REVISION_PREFIX, FAQIndex, is_hub_repo_id, load_index, local_revision
from faq_core.revisions import DEFAULT_MARGIN, diff_indexes

if TYPE_CHECKING:
    from bot.store.database import Store

MAX_CHANGES_SHOWN = 20


def _gate_options(parser: argparse.ArgumentParser) -> None:
    """The options ``publish`` and ``sync`` share."""
    source_options(parser)
    parser.add_argument("--create-pr", action="store_true", help="open a Hub pull request instead of moving main")
    parser.add_argument("--queries", type=Path, default=None, metavar="F.jsonl",
                        help="more labelled questions ({\"text\":..., \"faq_id\":... or null} per line)")
    parser.add_argument("--margin", type=float, default=DEFAULT_MARGIN,
                        help=f"allowed drop of answered-and-correct (default {DEFAULT_MARGIN})")
    parser.add_argument("--force", action="store_true", help="push even if the gate fails (recorded in the commit)")
    parser.add_argument("--private", action="store_true", help="create the dataset private if it does not exist")
    add_tenant_options(parser)  # whose labelled questions gate it (and whose review phrasings sync keeps)


def add_commands(sub: Any, index_sub: Any) -> None:
    """Register ``publish``, ``sync``, ``status``, ``rollback`` and ``index diff``."""
    pub = sub.add_parser("publish", help="build FAQ sources, gate the index against the served revision, push it "
                                          "to the Hub as one commit")
    pub.add_argument("sources", nargs="+", metavar="SOURCE", help="FAQ sources (CSV, JSONL, pages, exports, .xlsx)")
    pub.add_argument("repo_id", help="Hub dataset user/name or org/name")
    _gate_options(pub)
    pub.set_defaults(handler=cmd_publish)

    sync = sub.add_parser(
        "sync", help="read the FAQ sources again and publish what changed (for a scheduled job)",
        description="Re-read every SOURCE, keep the phrasings the review loop added to FAQs of pages and exports, "
                    "diff against the revision main serves, and go through publish's gate: one commit, or "
                    "'nothing changed'. Exit status 0 (pushed or nothing changed), 1 (refused by the gate, or a "
                    "service such as the Hub or a source's server failed), 2 (a source or setting to fix).")
    sync.add_argument("sources", nargs="+", metavar="SOURCE", help="FAQ sources, as for publish")
    sync.add_argument("repo_id", help="Hub dataset user/name or org/name")
    _gate_options(sync)
    sync.set_defaults(handler=cmd_sync)

    diff = index_sub.add_parser("diff", help="what changed between two index revisions")
    diff.add_argument("old", help="folder, user/name or user/name@revision")
    diff.add_argument("new", help="folder, user/name or user/name@revision")
    diff.set_defaults(handler=cmd_diff)

    status = sub.add_parser("status", help="which FAQ revision each replica serves (from the store)")
    status.add_argument("--json", action="store_true")
    add_tenant_options(status)
    status.set_defaults(handler=cmd_status)

    rollback = sub.add_parser("rollback", help="pin every replica to a revision (or --unpin to follow again)")
    rollback.add_argument("revision", nargs="?", help="commit id or branch of FAQ_INDEX to serve")
    rollback.add_argument("--unpin", action="store_true", help="remove the pin: replicas follow their branch again")
    rollback.set_defaults(handler=cmd_rollback)


# -- publish -----------------------------------------------------------------------
@dataclass
class FromStore:
    """What publishing reads from the bot's store: labelled questions for the
    gate, the review loop's accepted phrasings for ``sync``, and which store
    and tenant they came from."""

    labelled: list[LabelledQuery]
    accepted: dict[str, list[str]]
    origin: str


def read_store(settings: BotSettings, args: argparse.Namespace, *, accepted: bool = False) -> FromStore:
    """The labelled questions of the tenant ``--workspace``/``--guild`` chose
    (or the store's only one), and with ``accepted``, that tenant's review-loop
    accepted phrasings; an SQLite file that does not exist is not created: none."""
    from bot.features.recording import labelled_questions

    try:
        store = _open_store(settings, create=False)
    except NoStoreError:
        return FromStore([], {}, "no store")
    try:
        scope = resolve_scope(store, args)
        phrasings: dict[str, list[str]] = {}
        if accepted:
            from bot.features.review.apply import accepted_phrasings
            from bot.features.review.decisions import ACCEPT, decisions

            phrasings = accepted_phrasings(decisions(store, (ACCEPT,), scope))
        return FromStore(labelled_questions(store, [scope]), phrasings, f"{store.describe()}, {scope}")
    finally:
        store.close()


def labelled_from_store(settings: BotSettings, args: argparse.Namespace) -> tuple[list[LabelledQuery], str]:
    """The labelled questions of the tenant ``args`` chose, and where they came from."""
    found = read_store(settings, args)
    return found.labelled, found.origin


def cmd_publish(args: argparse.Namespace, settings: BotSettings) -> int:
    """Read, build, gate, push; exit 1 when the gate refuses."""
    return _publish(args, settings, sync=False)


def cmd_sync(args: argparse.Namespace, settings: BotSettings) -> int:
    """Publish, keeping the review loop's phrasings; "nothing changed" when nothing did."""
    return _publish(args, settings, sync=True)


def _publish(args: argparse.Namespace, settings: BotSettings, *, sync: bool) -> int:
    from faq_core.publish import publish

    if not 0 <= args.margin <= 1:
        raise FAQBotError(f"--margin must be between 0 and 1, got {args.margin}")
    if not is_hub_repo_id(args.repo_id):
        raise FAQBotError(f"{args.repo_id!r} is not a Hub dataset id (user/name)")
    missing = [str(path) for path in local_sources(args.sources) if not path.exists()]
    if missing:  # before the store and the network: a typo is the likeliest failure of a scheduled job
        raise FAQSourceError(missing[0], None, "file not found"
                             + (f" (nor {', '.join(missing[1:])})" if len(missing) > 1 else ""))
    stored = read_store(settings, args, accepted=sync)
    if not settings.hf_token:  # before any source is fetched
        raise FAQBotError("HF_TOKEN is not set: publishing to the Hub needs a token with write access")
    labelled = stored.labelled
    print(f"labelled questions: {len(labelled)} from the store ({stored.origin})"
          + (f", {args.queries.name} added" if args.queries else ""))
    if args.queries:
        labelled += load_queries(args.queries)
    read = read_sources(args.sources, args, settings)
    publication = publish(read, args.repo_id, settings, labelled, margin=args.margin, force=args.force,
                          create_pr=args.create_pr, private=args.private, keep_review_phrasings=sync,
                          accepted=stored.accepted)
    if sync and publication.pushed is None and not publication.refused and publication.diff.empty:
        for note in publication.notes:
            print(f"note: {note}")
        print(f"nothing changed: {args.repo_id}@{publication.previous} already serves what the sources say")
        return 0
    print(f"changes against {args.repo_id}@{publication.previous or '(new repo)'}: {publication.diff.summary()}")
    for line in publication.diff.lines()[:MAX_CHANGES_SHOWN * 3]:
        print(f"  {line}")
    print(f"gate: {publication.gate.summary()}")
    for change in publication.gate.changed[:MAX_CHANGES_SHOWN]:
        print(f"  {change.line()}")
    if len(publication.gate.changed) > MAX_CHANGES_SHOWN:
        print(f"  ... and {len(publication.gate.changed) - MAX_CHANGES_SHOWN} more")
    for note in publication.notes:
        print(f"note: {note}")
    if publication.refused:
        for reason in publication.gate.reasons:
            print(f"faq-bot: refused: {reason}")
        print("faq-bot: nothing was pushed (fix the FAQs, or push anyway with --force)")
        return 1
    for reason in publication.gate.reasons:
        print(f"warning: pushed despite: {reason} (--force)")
    if publication.pushed is None:
        return 0
    pushed = publication.pushed
    if pushed.pr_url:
        print(f"opened a pull request on datasets/{args.repo_id}: {pushed.pr_url} (commit {pushed.commit}); "
              f"replicas following {DEFAULT_BRANCH} pick it up once it is merged")
    else:
        print(f"pushed datasets/{args.repo_id} at commit {pushed.commit}: {publication.commit_message()}")
    print(f"pin it with: FAQ_INDEX={args.repo_id} FAQ_INDEX_REVISION={pushed.commit}")
    return 0


# -- index diff ----------------------------------------------------------------------
def _load_revision(spec: str, settings: BotSettings) -> FAQIndex:
    location, _, revision = spec.partition("@")
    if revision and is_hub_repo_id(location):
        return load_index(location, revision, endpoint=settings.hf_endpoint)
    return load_index(spec, endpoint=settings.hf_endpoint)


def cmd_diff(args: argparse.Namespace, settings: BotSettings) -> int:
    """Print FAQs added, removed and changed, and phrasings added and removed."""
    diff = diff_indexes(_load_revision(args.old, settings), _load_revision(args.new, settings))
    print(f"{args.old} -> {args.new}: {diff.summary()}")
    for line in diff.lines():
        print(line)
    return 0


# -- status and rollback -----------------------------------------------------------------
def _open_store(settings: BotSettings, *, create: bool = True) -> Store:
    from bot.store.database import open_store

    return open_store(settings.database_url, create=create)


def _serves_a_folder(settings: BotSettings) -> bool:
    """Whether FAQ_INDEX is a local folder (replicas follow its newest build), not a Hub dataset."""
    return bool(settings.faq_index) and not is_hub_repo_id(settings.faq_index or "")


def _what_replicas_follow(settings: BotSettings) -> str:
    """What replicas follow when nothing is pinned, as people read it."""
    return "the newest build of the folder" if _serves_a_folder(settings) else "FAQ_INDEX_REVISION"


def cmd_status(args: argparse.Namespace, settings: BotSettings) -> int:
    """Print the pin, the branch's head and every replica's revision."""
    from bot.serving.replicas import current_pin, replicas, routed_replicas

    store = _open_store(settings, create=False)
    try:
        pin, rows, routed = current_pin(store), replicas(store), routed_replicas(store)
        tenants = _tenant_status(store, args)
    finally:
        store.close()
    head, followed = None, f"{settings.faq_index_revision or DEFAULT_BRANCH} is at"
    index = settings.faq_index or ""
    folder = _serves_a_folder(settings)
    if folder:
        followed = "its newest build is"
        try:
            head = local_revision(index)
        except OSError as error:  # the replicas' folder is not here, or is being replaced
            print(f"faq-bot: note: cannot read the index folder {index} here ({error.strerror}), "
                  "so which build is newest is unknown", file=sys.stderr)
    elif index and not is_commit_id(settings.faq_index_revision):
        try:
            head = head_commit(index, settings.faq_index_revision or DEFAULT_BRANCH,
                               token=settings.hf_token, endpoint=settings.hf_endpoint)
        except FAQBotError as error:
            head = f"unknown ({error})"
    target = pin.revision if pin else (settings.faq_index_revision if not folder
                                       and is_commit_id(settings.faq_index_revision) else head)
    now = datetime.now(UTC)
    stale_after = timedelta(seconds=3 * settings.faq_reload_seconds + 30)
    live = [r for r in rows if not r.stale(now, stale_after)]
    converged = bool(live) and target is not None and all(r.revision == target for r in live)
    indexes: dict[str, dict[str, Any]] = {}  # each routed index: which revision each replica serves
    for row in routed:
        stale = now - row.seen_at > stale_after
        entry = indexes.setdefault(row.index_ref, {"replicas": []})
        entry["replicas"].append({"replica": row.replica_id, "revision": row.revision, "stale": stale,
                                  "seen_at": row.seen_at.isoformat(timespec="seconds"),
                                  "last_error": row.last_error})
    for entry in indexes.values():
        served = {r["revision"] for r in entry["replicas"] if not r["stale"]}
        entry["converged"] = len(served) == 1
    if args.json:
        print(json.dumps({"pinned": pin.revision if pin else None, "head": head, "target": target,
                          "converged": converged, **tenants,
                          "replicas": [{**r.as_json(), "stale": r.stale(now, stale_after)} for r in rows],
                          "routed_indexes": indexes}))
        return 0
    print(f"FAQ index: {settings.faq_index or '(the bundled sample)'}" + (f", {followed} {head}" if head else ""))
    print(f"pinned by rollback: {pin.revision} since {pin.pinned_at.isoformat(timespec='seconds')}" if pin
          else f"pinned by rollback: no (replicas follow {_what_replicas_follow(settings)})")
    if not rows:
        print("no replica has reported to this store yet")
    for r in rows:
        state = "stale" if r.stale(now, stale_after) else "live"
        since = r.as_json()["serving_since"]
        print(f"  {r.replica_id}  {r.revision}  since {since}  ({state}, seen {r.as_json()['seen_at']})"
              + (f"  last refusal: {r.last_error}" if r.last_error else ""))
    if target is not None and live:
        print("converged: every live replica serves " + target if converged
              else f"not converged yet: the target is {target}")
    for ref, entry in indexes.items():
        live_revisions = sorted({r["revision"] for r in entry["replicas"] if not r["stale"]})
        print(f"routed FAQ index {ref}: " + (f"every live replica serves {live_revisions[0]}" if entry["converged"]
                                            else f"replicas serve {', '.join(live_revisions) or 'nothing live'}"))
        for r in entry["replicas"]:
            print(f"  {r['replica']}  {r['revision']}  ({'stale' if r['stale'] else 'live'}, seen {r['seen_at']})"
                  + (f"  last refusal: {r['last_error']}" if r["last_error"] else ""))
    if "tenant" in tenants:
        t = tenants["tenant"]
        print(f"stored for {t['name']}: {t['questions']} questions, {t['votes']} votes"
              + (f"; its erasure is due {t['erasure_due']}" if t["erasure_due"] else ""))
    else:
        print(f"stored for {len(tenants['tenants'])} workspaces and servers ({', '.join(tenants['tenants'])}): "
              "--workspace TEAM_ID or --guild GUILD_ID shows one's counts")
    return 0


def _tenant_status(store: Store, args: argparse.Namespace) -> dict[str, Any]:
    """What ``status`` says of the stored rows: the chosen (or only) tenant's
    counts and pending erasure, or, with several and none chosen, their names only."""
    from bot.store.erasure import erasures
    from bot.store.scoping import store_tenants, stored_counts

    chosen_tenant(args)  # an id that is not one is refused here, not taken for "none chosen" below
    try:
        scope = resolve_scope(store, args)
    except ConfigError:
        return {"tenants": [str(t) for t in store_tenants(store)]}
    due = next((e.due_at.isoformat(timespec="seconds") for e in erasures(store)
                if e.done_at is None and scope.tenant is not None
                and (e.tenant.platform, e.tenant.workspace) == (scope.tenant.platform, scope.tenant.workspace)), None)
    return {"tenant": {"name": str(scope), **stored_counts(store, scope), "erasure_due": due}}


def cmd_rollback(args: argparse.Namespace, settings: BotSettings) -> int:
    """Pin every replica to a revision (resolved to its commit), or unpin."""
    from bot.serving.replicas import pin, unpin

    if args.unpin == bool(args.revision):
        raise FAQBotError("give a REVISION to pin every replica to, or --unpin (not both)")
    store = _open_store(settings)
    try:
        if args.unpin:
            had = unpin(store)
            print(f"removed the pin: replicas follow {_what_replicas_follow(settings)} again" if had
                  else "there was no pin")
            return 0
        revision = args.revision
        if settings.faq_index and is_hub_repo_id(settings.faq_index):
            revision = head_commit(settings.faq_index, revision, token=settings.hf_token,
                                   endpoint=settings.hf_endpoint)  # refuses a revision the Hub does not have
        elif not revision.startswith(LOCAL_REVISION_PREFIX):
            raise FAQBotError("FAQ_INDEX is not a Hub dataset: a local index folder has no revisions to go back to")
        pin(store, revision, reason=f"faq-bot rollback {args.revision}")
    finally:
        store.close()
    print(f"pinned every replica to {revision}: each loads it within FAQ_RELOAD_SECONDS "
          f"({settings.faq_reload_seconds:g} s); 'faq-bot status' shows when they have converged")
    return 0
