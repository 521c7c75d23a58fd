"""The help-center credentials a source fetch may send, taken from settings."""

from __future__ import annotations

from dataclasses import dataclass, field

from faq_core.settings import Settings


@dataclass(frozen=True)
class HelpCenterAuth:
    """Tokens for the help-center APIs (secrets: kept out of ``repr``). Zendesk:
    an API token with the agent's email (basic auth ``email/token:TOKEN``), or an
    OAuth access token alone (bearer); Intercom: an access token (bearer)."""

    zendesk_token: str | None = field(default=None, repr=False)
    zendesk_email: str | None = None
    intercom_token: str | None = field(default=None, repr=False)

    @classmethod
    def from_settings(cls, settings: Settings) -> HelpCenterAuth:
        """The credentials that ``ZENDESK_API_TOKEN``, ``ZENDESK_EMAIL`` and ``INTERCOM_TOKEN`` set."""
        return cls(settings.zendesk_api_token, settings.zendesk_email, settings.intercom_token)
