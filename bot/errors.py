"""The errors of the service built on faq_core, derived from its two bases.

Like every :class:`~faq_core.errors.FAQBotError`, each message is written for
the person who must act on it and never holds a secret, and its kind decides
the exit status (:func:`faq_core.errors.exit_status`): a
:class:`~faq_core.errors.ServiceError` is 1 (a service failed: trying again
later may help), any other 2 (input or a setting to fix).
"""

from __future__ import annotations

from faq_core.errors import ConfigError, FAQBotError, ServiceError


class NoStoreError(ConfigError):
    """A command that only reads the store found none where ``DATABASE_URL``
    points: reading never creates one (the bot and ``faq-bot db upgrade`` do)."""


class StoreUnavailableError(ServiceError, ConnectionError):
    """The database server at ``DATABASE_URL`` could not be reached, or refused the connection."""


class ReviewError(FAQBotError, ValueError):
    """A review-loop request that cannot be done as asked (an unknown cluster
    or FAQ, a decision already made, an output that would overwrite the source)."""
