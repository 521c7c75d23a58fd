"""``faq-bot routes list|set|unset``: which FAQ index answers in which workspace and channel.

A route points a workspace (a Slack team id ``T…``, a Discord guild id) or
one channel of it at an FAQ index: a Hub dataset ``user/name[@branch-or-commit]``
or a local index folder. Running bots read the change at their next question
(within a few seconds on other replicas sharing the database): no restart.
Mistakes are one line and exit status 2; a database that cannot be reached, 1.
"""

from __future__ import annotations

import argparse
import json
from typing import Any

from bot.serving.refs import check_ref
from bot.settings import BotSettings
from bot.store.routes import PLATFORMS, WORKSPACE_DEFAULT, Route, check_place, list_routes, set_route, unset_route
from faq_core.errors import ConfigError


def add_commands(sub: Any) -> None:
    """Register ``routes`` and its actions."""
    routes = sub.add_parser("routes", help="which FAQ index answers in which workspace and channel",
                            description=__doc__.splitlines()[0])
    rsub = routes.add_subparsers(dest="routes_command", required=True, metavar="ACTION")
    listing = rsub.add_parser("list", help="print the routes (and what unrouted places get)")
    listing.add_argument("--platform", choices=PLATFORMS, default=None)
    listing.add_argument("--workspace", default=None, help="a Slack team id or Discord guild id")
    listing.add_argument("--json", action="store_true", help="one JSON object per line")
    listing.set_defaults(handler=cmd_list)
    setting = rsub.add_parser("set", help="route a workspace (default) or a channel to an FAQ index")
    setting.add_argument("index", help="a Hub dataset user/name[@branch-or-commit] or a local index folder")
    _place(setting)
    setting.set_defaults(handler=cmd_set)
    unsetting = rsub.add_parser("unset", help="remove a route (the channel then follows the workspace default)")
    _place(unsetting)
    unsetting.set_defaults(handler=cmd_unset)


def _place(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--platform", choices=PLATFORMS, required=True)
    parser.add_argument("--workspace", required=True, help="a Slack team id (T…) or Discord guild id")
    parser.add_argument("--channel", default=WORKSPACE_DEFAULT,
                        help="a channel id; without it, the workspace's default")


def _where(args: argparse.Namespace) -> str:
    what = f"channel {args.channel}" if args.channel else "the default"
    return f"{args.platform} workspace {args.workspace}, {what}"


def _checked_place(args: argparse.Namespace) -> None:
    try:
        check_place(args.platform, args.workspace, args.channel)
    except ValueError as error:
        raise ConfigError(str(error)) from None


def cmd_set(args: argparse.Namespace, settings: BotSettings) -> int:
    """Store a route (replacing the one there)."""
    _checked_place(args)
    ref = check_ref(args.index)
    store = _open_store(settings)
    try:
        replaced = set_route(store, args.platform, args.workspace, args.channel, ref, by="cli")
    finally:
        store.close()
    print(f"{_where(args)}: now answered from {ref}" + (" (replacing the route there)" if replaced else ""))
    return 0


def cmd_unset(args: argparse.Namespace, settings: BotSettings) -> int:
    """Remove a route; removing one that is not there says so (and succeeds: nothing to do)."""
    _checked_place(args)
    store = _open_store(settings)
    try:
        had = unset_route(store, args.platform, args.workspace, args.channel)
    finally:
        store.close()
    print(f"{_where(args)}: route removed" if had else f"{_where(args)}: there was no route")
    return 0


def cmd_list(args: argparse.Namespace, settings: BotSettings) -> int:
    """Print the routes, then what a place without one gets."""
    store = _open_store(settings, create=False)
    try:
        routes = list_routes(store, args.platform, args.workspace)
    finally:
        store.close()
    if args.json:
        for route in routes:
            print(json.dumps(route.as_json()))
        return 0
    for route in routes:
        print(_line(route))
    if not routes:
        print("no routes")
    fallback = settings.faq_index and (f"{settings.faq_index}@{settings.faq_index_revision}"
                                      if settings.faq_index_revision else settings.faq_index)
    print(f"elsewhere: {fallback} (FAQ_INDEX)" if fallback
          else "elsewhere: no FAQ (FAQ_INDEX is not set): the bot says an admin can choose one")
    return 0


def _line(route: Route) -> str:
    where = f"#{route.channel}" if route.channel else "(default)"
    return f"{route.platform}\t{route.workspace}\t{where}\t{route.index_ref}"


def _open_store(settings: BotSettings, *, create: bool = True) -> Any:
    from bot.store.database import open_store

    return open_store(settings.database_url, create=create)
