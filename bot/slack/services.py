"""What the Slack bot's listeners and work share: the engine, the answerer,
the store and its intake, the Web API client, and the settings they act on."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from slack_sdk import WebClient

from bot.conversation.answering import Answerer
from bot.ops.metrics import Metrics
from bot.serving.holder import ServingEngine
from bot.store.database import Store
from bot.store.intake import Intake


@dataclass
class Services:
    """What the listeners need: the engine, the reply builder, the store, its
    intake, the Web API client, and a way to wake the workers."""

    engine: ServingEngine  # swapped atomically when a new FAQ revision is loaded
    answerer: Answerer
    store: Store
    intake: Intake
    client: WebClient
    wake: Callable[[], None]
    names: Callable[[str], str | None] | None = None  # user id -> display name, for mentions of people
    metrics: Metrics | None = None
    admins: frozenset[str] = frozenset()  # FAQ_ADMINS: who sees and uses the FAQ review
    handoff_target: str | None = None  # FAQ_HANDOFF: where "Ask a person" passes a question
