"""The Bolt app: settings, engine and store in; ``App`` (whose ``dispatch``
is the seam every transport calls) out, with its intake workers running.

``process_before_response=True`` makes ``dispatch`` return as soon as the
listener's ``ack`` step has run. That step only records the work in the
store's intake (one insert), which keeps every acknowledgement fast in both
transports: the HTTP server answers Slack from ``dispatch``'s return value,
and Socket Mode sends the envelope ack from it. The answering happens on the
app's :class:`~bot.store.workers.Workers`, from the store.
"""

from __future__ import annotations

import logging
import threading
import weakref
from collections.abc import Callable

from slack_bolt import App
from slack_sdk import WebClient
from sqlalchemy.exc import SQLAlchemyError

from bot.conversation.answering import Answerer
from bot.conversation.replies import HandOffSettings
from bot.features.recording import recorder
from bot.features.upkeep import maintain
from bot.ops.metrics import Metrics
from bot.serving.holder import ServingEngine, as_serving
from bot.slack.digest import send_due_digest
from bot.slack.listeners import Services, register
from bot.slack.settings import SlackSettings
from bot.slack.web_api import ObservedWebClient, UserNames, is_transient, make_web_client
from bot.store.database import Store
from bot.store.intake import Intake
from bot.store.workers import Workers
from faq_core.engine import FAQEngine
from faq_core.errors import ConfigError

log = logging.getLogger(__name__)

_WORKERS: weakref.WeakKeyDictionary[App, Workers] = weakref.WeakKeyDictionary()
# What drain() undoes: the hooks a Metrics put on the (possibly shared) engine and client.
_UNHOOK: weakref.WeakKeyDictionary[App, list[Callable[[], None]]] = weakref.WeakKeyDictionary()


class _ClientGivenFilter(logging.Filter):
    """Drops Bolt's start-up warning that ``SLACK_BOT_TOKEN`` from the
    environment is unused because a client was given: that is intended here
    (the client carries the same token and ``SLACK_API_URL``)."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not str(record.msg).startswith("As you gave `client` as well")


_bolt_log = logging.getLogger("slack_bolt")
_bolt_log.addFilter(_ClientGivenFilter())


def worth_retrying(error: BaseException) -> bool:
    """Whether failed work may succeed later: Slack or the database was
    unavailable (not a payload the work cannot use, nor Slack refusing it)."""
    return is_transient(error) or isinstance(error, SQLAlchemyError)


def build_app(
    settings: SlackSettings,
    engine: FAQEngine | ServingEngine,
    store: Store,
    *,
    client: WebClient | None = None,
    workers: int | None = None,
    poll_seconds: float | None = None,
    metrics: Metrics | None = None,
) -> App:
    """A ready Bolt app whose workers already take work from the store's
    intake. Checks the bot token with ``auth.test`` (Bolt raises
    ``BoltError`` when Slack rejects it). ``client`` overrides the Web API
    client built from ``SLACK_BOT_TOKEN`` and ``SLACK_API_URL``. With
    ``metrics``, questions, stages, replies, votes, Web API errors and the
    intake's depth are counted there."""
    if client is None:
        if not settings.slack_bot_token:
            raise ConfigError("SLACK_BOT_TOKEN is not set")
        client = make_web_client(settings.slack_bot_token, settings.slack_api_url)
    app = App(
        client=client,
        signing_secret=settings.slack_signing_secret or "",
        # Socket Mode requests are not signed; Bolt checks signatures on HTTP requests only.
        request_verification_enabled=bool(settings.slack_signing_secret),
        process_before_response=True,
        logger=_bolt_log,
        name="faq-bot",
    )
    workers = workers or settings.intake_in_memory  # rows in memory at once: also the largest batch
    serving = as_serving(engine)  # one holder for the listeners and the Answerer: a reload reaches both
    intake = Intake(store, lease_seconds=settings.intake_lease_seconds)
    pool: list[Workers] = []
    answerer = Answerer(serving, top_k=settings.faq_top_k, max_batch=workers,
                        observers=[recorder(store, settings, serving)],
                        handoff=HandOffSettings(target=settings.faq_handoff, text=settings.faq_handoff_text))
    services = Services(engine=serving, answerer=answerer, store=store,
                        intake=intake, client=client, wake=lambda: pool[0].notify(), names=UserNames(client),
                        admins=frozenset(settings.faq_admins), handoff_target=settings.faq_handoff,
                        metrics=metrics)
    handlers = register(app, services)
    extra = {} if poll_seconds is None else {"poll_seconds": poll_seconds}

    digesting = threading.Lock()

    def digest() -> None:
        try:
            send_due_digest(settings, store, serving.current, client)
        except Exception:
            log.exception("sending the digest failed; the next maintenance tries again")
        finally:
            digesting.release()

    def maintenance() -> None:
        maintain(store, intake, settings.feedback_retention_days)
        # off the dispatcher thread: clustering and posting must not hold up lease renewals
        if settings.digest_channel and digesting.acquire(blocking=False):
            threading.Thread(target=digest, name="faq-bot-digest", daemon=True).start()

    observe = None if metrics is None else (lambda work, outcome: metrics.worked(work.kind, work.received_at, outcome))
    pool.append(Workers(intake, handlers.run, threads=workers, retryable=worth_retrying,
                        maintenance=maintenance, observe=observe, **extra))
    _WORKERS[app] = pool[0]
    if metrics is not None:
        _UNHOOK[app] = _hook_metrics(metrics, answerer, serving, client, intake)
    pool[0].start()
    return app


def _hook_metrics(metrics: Metrics, answerer: Answerer, engine: ServingEngine, client: WebClient,
                  intake: Intake) -> list[Callable[[], None]]:
    """Plug ``metrics`` into the hooks; returns how to unplug what outlives the app."""
    undo = [metrics.plug(answerer, engine, intake)]
    if isinstance(client, ObservedWebClient):
        def count(kind: str) -> None:
            metrics.api_error("slack", kind)
        client.error_observers.append(count)
        undo.append(lambda: client.error_observers.remove(count))
    return undo


def workers_of(app: App) -> Workers:
    """The workers answering ``app``'s intake."""
    return _WORKERS[app]


def settle(app: App, timeout: float = 60.0) -> None:
    """Wait until ``app``'s workers have answered everything they can take
    (tests, benchmarks). Raises ``TimeoutError`` after ``timeout`` seconds."""
    if not workers_of(app).wait_idle(timeout):
        raise TimeoutError(f"the workers were still busy after {timeout:.0f} s")


def drain(app: App, deadline: float | None = None) -> int:
    """Let the replies already being worked on finish, then stop the workers
    (a clean stop answers what it took; what it did not take stays in the
    store for the next start or another replica). With a ``deadline``
    (seconds), what is still in flight then is handed back to the intake;
    returns how many rows were."""
    for undo in _UNHOOK.pop(app, []):
        undo()
    workers = _WORKERS.get(app)
    if workers is None:
        return 0
    return workers.stop(deadline)
