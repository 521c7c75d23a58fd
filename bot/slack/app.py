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
from datetime import timedelta

from slack_bolt import App
from slack_bolt.authorization.authorize import InstallationStoreAuthorize
from slack_sdk import WebClient
from slack_sdk.oauth.installation_store import Installation
from sqlalchemy.exc import SQLAlchemyError

from bot import messages
from bot.conversation.answering import Answerer
from bot.conversation.replies import HandOffSettings
from bot.conversation.routing import Routing
from bot.features.recording import recorder
from bot.features.upkeep import maintain
from bot.ops.metrics import Metrics
from bot.serving.holder import ServingEngine, as_serving
from bot.slack.digest import send_due_digest
from bot.slack.distribution import (
    InstallationClient,
    InstallRef,
    TokenSource,
    acting_for_payload,
    register_uninstall,
    remember_installation,
)
from bot.slack.installations import SealedInstallationStore, oauth_settings
from bot.slack.listeners import Services, register
from bot.slack.settings import SlackSettings
from bot.slack.web_api import (
    WEB_TIMEOUT,
    ObservedWebClient,
    UserNames,
    api_base_url,
    is_transient,
    make_web_client,
    retry_handlers,
)
from bot.store.database import Store
from bot.store.erasure import cancel_erasure, schedule_erasure
from bot.store.intake import Intake
from bot.store.sealing import Sealer, SealError
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
    routing: Routing | None = None,
    uninstalled: Callable[[InstallRef, str], None] | None = None,
) -> App:
    """A ready Bolt app whose workers already take work from the store's
    intake. Checks the bot token with ``auth.test`` (Bolt raises
    ``BoltError`` when Slack rejects it). ``client`` overrides the Web API
    client built from ``SLACK_BOT_TOKEN`` and ``SLACK_API_URL``. With
    ``metrics``, questions, stages, replies, votes, Web API errors and the
    intake's depth are counted there. With ``routing``, each question is
    answered from the FAQ routed where it was asked (and admins set routes in the App Home).

    In distribution mode (``SLACK_CLIENT_ID``) the app runs Bolt's OAuth
    flow instead, with the installations in ``store``'s database, and each
    piece of work acts for the installation it came through
    (:mod:`bot.slack.distribution`). Each installation removed is told to
    ``uninstalled`` (by default: its stored data is scheduled for deletion
    after ``FEEDBACK_RETENTION_DAYS``)."""
    distributed: _Distributed | None = None
    if settings.distribution:
        distributed = _Distributed(settings, store)
        app, client = distributed.app, distributed.client
    else:
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
                        handoff=HandOffSettings(target=settings.faq_handoff, text=settings.faq_handoff_text),
                        routing=routing)
    services = Services(engine=serving, answerer=answerer, store=store,
                        intake=intake, client=client, wake=lambda: pool[0].notify(), names=UserNames(client),
                        admins=frozenset(settings.faq_admins), handoff_target=settings.faq_handoff,
                        metrics=metrics)
    if distributed is not None:  # before register(): its catch-all listener would take these events
        register_uninstall(app, distributed.installations, uninstalled or _erase_later(store, settings))
    handlers = register(app, services)
    run = handlers.run if distributed is None else acting_for_payload(distributed.client, distributed.tokens,
                                                                       handlers.run)
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
        if settings.digest_channel and distributed is None and digesting.acquire(blocking=False):
            threading.Thread(target=digest, name="faq-bot-digest", daemon=True).start()

    observe = None if metrics is None else (lambda work, outcome: metrics.worked(work.kind, work.received_at, outcome))
    pool.append(Workers(intake, run, threads=workers, retryable=worth_retrying,
                        maintenance=maintenance, observe=observe, **extra))
    _WORKERS[app] = pool[0]
    if metrics is not None:
        _UNHOOK[app] = _hook_metrics(metrics, answerer, serving, client, intake)
    pool[0].start()
    return app


class _Distributed:
    """Distribution mode's parts: the Bolt app with the OAuth flow, the
    installations (sealed), where the workers get each installation's token,
    and the client that acts for one installation at a time."""

    def __init__(self, settings: SlackSettings, store: Store) -> None:
        assert settings.slack_client_id and settings.slack_client_secret and settings.faq_token_keys
        base_url = api_base_url(settings.slack_api_url)
        self.client = InstallationClient(base_url=base_url, timeout=WEB_TIMEOUT, retry_handlers=retry_handlers())
        oauth = oauth_settings(client_id=settings.slack_client_id, client_secret=settings.slack_client_secret,
                               engine=store.engine, sealer=Sealer(settings.faq_token_keys),
                               api_url=settings.slack_api_url, redirect_uri=settings.slack_redirect_uri,
                               rotation_minutes=settings.slack_token_rotation_minutes)
        assert isinstance(oauth.installation_store, SealedInstallationStore)
        self.installations = oauth.installation_store
        self.installations.installed = _keep(store)
        try:
            resealed = self.installations.reseal()
        except SealError:
            raise ConfigError(messages.TOKEN_KEYS_WRONG) from None
        if resealed:
            log.info("sealed %d stored token(s) again with the first key of FAQ_TOKEN_KEYS", resealed)
        self.tokens = TokenSource(self.installations, client_id=settings.slack_client_id,
                                  client_secret=settings.slack_client_secret,
                                  api_client=WebClient(base_url=base_url, timeout=WEB_TIMEOUT),
                                  rotation_minutes=settings.slack_token_rotation_minutes)
        # Bolt's own would refresh tokens at slack.com whatever SLACK_API_URL says: this one uses the client.
        # cache_enabled: auth.test once per token, not on every request; the installation is still looked up
        # on each, so an uninstalled workspace is refused at once.
        authorize = InstallationStoreAuthorize(
            logger=_bolt_log, installation_store=self.installations, client_id=settings.slack_client_id,
            client_secret=settings.slack_client_secret, bot_only=True, client=self.client, cache_enabled=True,
            token_rotation_expiration_minutes=settings.slack_token_rotation_minutes)
        self.app = App(
            client=self.client,
            signing_secret=settings.slack_signing_secret or "",
            oauth_settings=oauth,
            authorize=authorize,  # type: ignore[arg-type]  # an Authorize is callable; Bolt takes it as is
            installation_store_bot_only=True,
            process_before_response=True,
            logger=_bolt_log,
            name="faq-bot",
        )
        self.app.use(remember_installation)
        if settings.digest_channel:
            log.warning("DIGEST_CHANNEL is not used in distribution mode: one channel id cannot name a channel in "
                        "every workspace")


def _erase_later(store: Store, settings: SlackSettings) -> Callable[[InstallRef, str], None]:
    """What an uninstall does to the workspace's (or org's) stored data: its
    deletion is scheduled after the retention period (:mod:`bot.store.erasure`)."""

    def erase_later(ref: InstallRef, reason: str) -> None:
        schedule_erasure(store, ref.tenant(), after=timedelta(days=settings.feedback_retention_days),
                         reason=reason, whole_enterprise=ref.is_enterprise_install)

    return erase_later


def _keep(store: Store) -> Callable[[Installation], None]:
    """What an install does: a deletion still pending for that workspace (it
    uninstalled and came back within the retention period) is called off."""

    def keep(installation: Installation) -> None:
        ref = InstallRef(installation.enterprise_id, installation.team_id, bool(installation.is_enterprise_install))
        if cancel_erasure(store, ref.tenant(), whole_enterprise=ref.is_enterprise_install):
            log.info("%s installed faq-bot again: its stored data is no longer scheduled for deletion", ref)

    return keep


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
