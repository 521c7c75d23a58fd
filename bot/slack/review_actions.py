"""The FAQ review in Slack, for admins only: App Home section, buttons, modal.

Admins are the Slack user ids in ``FAQ_ADMINS``. Their Home tab gets the
review section (:mod:`bot.slack.review_views`); nobody else's does. Every
review action is checked again when it arrives, whoever seems to send it:
Slack signs the request, but the person in it must be an admin, so a
non-admin's forged or replayed button or modal payload is refused (nothing
recorded, nothing opened) and logged with the user id. The intake key of a
click (its ``trigger_id``) answers a replayed admin click once, and the
decisions API refuses a cluster decided already.

Decisions go through :mod:`bot.features.review.decisions` (the same store as the
``faq-bot review`` command), with ``decided_by`` naming the Slack user; the
admin's Home tab is then published again, the outcome on top.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Callable
from typing import Any

from slack_bolt import Ack, App, BoltContext
from slack_sdk.models.blocks import Block

from bot import messages
from bot.errors import ReviewError
from bot.features.review.clusters import DEFAULT_DAYS, Cluster, review
from bot.features.review.decisions import accept, dismiss, new_faq
from bot.slack import review_views as views
from bot.slack.services import Services
from bot.slack.tenant import request_tenant
from bot.slack.text import escape
from bot.store.intake import Work
from bot.store.scoping import scope_for
from bot.tenancy import Tenant
from faq_core.wording import counted

log = logging.getLogger(__name__)

ACCEPT_KIND, NEW_KIND, DISMISS_KIND = "review_accept", "review_new", "review_dismiss"


def _user(body: dict[str, Any]) -> str:
    user = (body.get("user") or {}).get("id") if isinstance(body.get("user"), dict) else None
    return user if isinstance(user, str) and user.isprintable() else ""


class ReviewActions:
    """The review's listeners (ack steps) and work (on the workers)."""

    def __init__(self, services: Services, *, record: Callable[[str, str, dict[str, Any], Tenant | None], None],
                 publish_home: Callable[[str, str | None, str | None, Tenant | None], None],
                 days: float = DEFAULT_DAYS) -> None:
        """``record(key, kind, payload, tenant)`` records work in the intake; ``publish_home(user,
        bot_user_id, notice, tenant)`` publishes a user's Home tab (the listeners')."""
        self.services = services
        self.record = record
        self.publish_home = publish_home
        self.days = days

    # -- who may ------------------------------------------------------------------------
    def is_admin(self, user: str) -> bool:
        """Whether ``user`` is in ``FAQ_ADMINS``."""
        return bool(user) and user in self.services.admins

    def refused(self, what: str, body: dict[str, Any]) -> bool:
        """True (and logged) when the sender of ``body`` is not an admin."""
        user = _user(body)
        if self.is_admin(user):
            return False
        log.warning("refused %s from user %s: not in FAQ_ADMINS (a forged or replayed payload?)",
                    what, user or "(none)")
        return True

    # -- App Home -------------------------------------------------------------------------
    def clusters(self, tenant: Tenant | None) -> list[Cluster]:
        """The current clusters of ``tenant``'s misses (as ``faq-bot review --workspace`` lists them)."""
        return review(self.services.store, self.services.engine.current, days=self.days,
                      scope=scope_for(self.services.store, tenant))

    def home_blocks(self, user: str, notice: str | None = None, tenant: Tenant | None = None) -> list[Block]:
        """The review section of ``user``'s Home tab in ``tenant``: nothing unless an admin."""
        if not self.is_admin(user):
            return []
        try:
            clusters = self.clusters(tenant)
        except Exception as error:
            log.exception("computing the review for the App Home failed")
            return views.review_unavailable(type(error).__name__)
        engine = self.services.engine.current
        return views.review_section(clusters, engine.index, days=self.days, notice=notice,
                                    duplicates=engine.duplicate_groups)

    # -- ack steps -------------------------------------------------------------------------
    @property
    def kinds(self) -> dict[str, Callable[[Work], None]]:
        """The review's kinds of work and what does each (on the workers)."""
        return {ACCEPT_KIND: self.decide, DISMISS_KIND: self.decide, NEW_KIND: self.decide}

    def register(self, app: App) -> None:
        """Attach the review's listeners to ``app`` (its work: :attr:`kinds`; its Home section: :meth:`home_blocks`)."""
        app.action(re.compile(f"^{views.REVIEW_FAQ}:"))(self.select_ack)
        app.action(re.compile(f"^{views.REVIEW_ACCEPT}:"))(self.click_ack(ACCEPT_KIND))
        app.action(re.compile(f"^{views.REVIEW_DISMISS}:"))(self.click_ack(DISMISS_KIND))
        app.action(re.compile(f"^{views.REVIEW_NEW}:"))(self.new_ack)
        app.view(views.NEW_FAQ_MODAL)(self.submit_ack)

    def select_ack(self, ack: Ack, body: dict[str, Any]) -> None:
        """Choosing an FAQ in a select only changes the view's state: acknowledge."""
        self.refused("an FAQ review select", body)  # logged; a select changes nothing stored
        ack()

    def click_ack(self, kind: str) -> Callable[[Ack, dict[str, Any], BoltContext], None]:
        """The ack step of "Add as phrasing" and "Dismiss": admins' clicks are recorded as work."""

        def click(ack: Ack, body: dict[str, Any], context: BoltContext) -> None:
            if self.refused(kind, body):
                ack()
                return
            self.record(f"action:{body.get('trigger_id')}", kind,
                        {"body": body, "bot_user_id": context.bot_user_id}, request_tenant(context))
            ack()

        return click

    def new_ack(self, ack: Ack, body: dict[str, Any]) -> None:
        """"New FAQ…": open the modal now (a ``trigger_id`` lasts 3 seconds)."""
        ack()
        if self.refused("opening the New FAQ modal", body):
            return
        action = (body.get("actions") or [{}])[0]
        try:
            prefill = json.loads(action.get("value") or "")
            cluster_id, question = str(prefill["c"]), str(prefill.get("q") or "")
        except (ValueError, TypeError, KeyError):
            log.warning("ignoring a New FAQ click with a value that is not ours")
            return
        try:
            self.services.client.views_open(trigger_id=body.get("trigger_id"),
                                            view=views.new_faq_modal(cluster_id, question))
        except Exception as error:
            log.error("opening the New FAQ modal failed: %s", error)

    def submit_ack(self, ack: Ack, body: dict[str, Any], view: dict[str, Any], context: BoltContext) -> None:
        """The modal's "Save draft": check the fields (errors show beside
        them), then record the decision as work and close the modal."""
        if self.refused("a New FAQ submission", body):
            ack()
            return
        fields = views.submitted(view)
        errors = views.modal_errors(fields)
        if errors:
            ack(response_action="errors", errors=errors)
            return
        try:
            cluster_id = str(json.loads(view.get("private_metadata") or "")["c"])
        except (ValueError, TypeError, KeyError):
            log.warning("ignoring a New FAQ submission without its cluster")
            ack()
            return
        payload = {"body": {"user": body.get("user"), "cluster": cluster_id, "fields": fields},
                   "bot_user_id": context.bot_user_id}
        self.record(f"view:{view.get('id')}", NEW_KIND, payload, request_tenant(context))
        ack()

    # -- work -------------------------------------------------------------------------------
    def decide(self, work: Work) -> None:
        """Record one admin decision, then show its outcome on their Home tab."""
        body = work.payload["body"]
        user = _user(body)
        if self.refused(work.kind, body):  # FAQ_ADMINS may have changed since the click
            return
        if work.kind == NEW_KIND:
            cluster_id = str(body.get("cluster") or "")
        else:
            action = (body.get("actions") or [{}])[0]
            cluster_id = views.cluster_of(str(action.get("action_id") or ""))
        notice = self._decide(work.kind, cluster_id, body, user, work.tenant)
        self.publish_home(user, work.payload.get("bot_user_id"), notice, work.tenant)

    def _decide(self, kind: str, cluster_id: str, body: dict[str, Any], user: str, tenant: Tenant | None) -> str:
        store, index = self.services.store, self.services.engine.index
        cluster = next((c for c in self.clusters(tenant) if c.id == cluster_id), None)
        if cluster is None:
            return messages.REVIEW_REFUSED.format(reason=messages.REVIEW_GONE)
        by = f"slack:{user}"
        try:
            if kind == ACCEPT_KIND:
                faq_id = views.selected_faq(body.get("view") or {}, cluster.id) or cluster.suggestion.faq_id
                faq = index.faq_by_id(faq_id) if faq_id else None
                if faq is None:
                    return messages.REVIEW_REFUSED.format(reason=messages.REVIEW_CHOOSE_FAQ)
                decision = accept(store, cluster.id, cluster.texts, faq.id, decided_by=by, tenant=tenant)
                label = faq.question
            elif kind == NEW_KIND:
                fields = body.get("fields") or {}
                decision = new_faq(store, cluster.id, cluster.texts, question=fields.get("question", ""),
                                   answer=fields.get("answer", ""), url=fields.get("url") or None, decided_by=by,
                                   tenant=tenant)
                label = decision.question or ""
            else:
                decision = dismiss(store, cluster.id, cluster.texts, decided_by=by, tenant=tenant)
                label = ""
        except ReviewError as error:
            return messages.REVIEW_REFUSED.format(reason=escape(str(error)))
        log.info("review: %s decided %s on cluster %s (%d questions)", user, decision.action, cluster.id,
                 len(decision.texts))
        count = len(decision.texts)
        return messages.REVIEW_DONE[decision.action].format(
            questions=counted(count, "question"), phrasings=counted(count, "phrasing"), faq=escape(label))
