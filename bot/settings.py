"""The service's settings: the library's (:class:`faq_core.settings.Settings`) and its own.

Its own are the store, the durable intake, reloading and the Hub webhook, the
operations port and shutdown, recording, the hand-off's text and the digest's
period: what every platform shares. A platform extends :class:`BotSettings`
with its own tokens and ids beside its code (``bot/slack/settings.py``,
``bot/discord/settings.py``); the command line reads these. Every value is
read by :meth:`~faq_core.settings.Settings.load`, so each error names its setting.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar

from faq_core.settings import SECONDS, Setting, Settings, flag, port, positive_float, positive_int

# In a 2 GB container the model, Python and the bot take about 0.5 GB: the FAQ indexes get 1 GB.
DEFAULT_MEMORY_BUDGET_MB = 1024.0


@dataclass(frozen=True)
class BotSettings(Settings):
    """What every platform's bot and the command line read beyond the library's settings."""

    faq_reload_seconds: float = 60.0
    hub_webhook_secret: str | None = field(default=None, repr=False)
    database_url: str = "sqlite:///faq_bot.db"
    feedback_retention_days: float = 90.0
    intake_lease_seconds: float = 30.0
    # intake rows worked on at once (one worker thread each), so also the most questions one batch can
    # hold: about 1 KB of memory each while waiting, and a batch of 64 costs the model ~0.8x per question of 16
    intake_in_memory: int = 64
    metrics_port: int = 9464
    shutdown_deadline_seconds: float = 20.0
    record_text: bool = True
    faq_handoff_text: str | None = None
    digest_every_days: float = 7.0
    # what the FAQ indexes loaded for routes may hold (the model is apart): the least recently used are evicted
    faq_memory_budget_mb: float = DEFAULT_MEMORY_BUDGET_MB

    ENV: ClassVar[tuple[Setting, ...]] = (
        Setting("hub_webhook_secret", "HUB_WEBHOOK_SECRET"),
        Setting("faq_handoff_text", "FAQ_HANDOFF_TEXT"),
        Setting("faq_reload_seconds", "FAQ_RELOAD_SECONDS", positive_float, SECONDS),
        Setting("database_url", "DATABASE_URL", str, "an SQLAlchemy URL"),
        Setting("feedback_retention_days", "FEEDBACK_RETENTION_DAYS", positive_float, "a positive number of days"),
        Setting("intake_lease_seconds", "INTAKE_LEASE_SECONDS", positive_float, SECONDS),
        Setting("intake_in_memory", "INTAKE_IN_MEMORY", positive_int, "a positive whole number"),
        Setting("metrics_port", "METRICS_PORT", port, "a port number from 0 to 65535"),
        Setting("shutdown_deadline_seconds", "SHUTDOWN_DEADLINE_SECONDS", positive_float, SECONDS),
        Setting("record_text", "FAQ_RECORD_TEXT", flag, "true or false"),
        Setting("digest_every_days", "DIGEST_EVERY_DAYS", positive_float, "a positive number of days"),
        Setting("faq_memory_budget_mb", "FAQ_MEMORY_BUDGET_MB", positive_float, "a positive number of megabytes"),
    )
