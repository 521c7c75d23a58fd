"""The terminal as one more place questions are asked: ``faq-bot ask --record``.

A team can try the review loop without Slack or Discord: each question asked
with ``--record`` is reported, as an :class:`~bot.conversation.answering.Answered` from
platform ``cli``, to the same observer the bots record through
(:func:`bot.features.recording.recorder`), into the store at ``DATABASE_URL``. So it
is recorded exactly as a bot records it (text and vector unless
``FAQ_RECORD_TEXT=false``, the outcome, the closest FAQs), and
``faq-bot review`` lists its misses with the bots'. The asker is the login
name, pseudonymised like any other (:func:`bot.features.recording.asker_key`).
"""

from __future__ import annotations

import getpass
import uuid

from sqlalchemy.exc import SQLAlchemyError

from bot.conversation.answering import Answered, AnswerObserver, Asked
from bot.conversation.payloads import AnswerRef
from bot.conversation.text import encodable
from bot.features.recording import recorder
from bot.settings import BotSettings
from bot.store.database import Store
from faq_core.answer import Answer, Outcome
from faq_core.engine import FAQEngine
from faq_core.errors import ConfigError

PLATFORM = "cli"
CHANNEL_KIND = "terminal"


def _login() -> str | None:
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no user name in the environment nor the password database (some containers)
        return None


class TerminalRecorder:
    """Records the questions of one ``faq-bot ask --record`` run; opens the
    store at once, so a store that cannot be used is said before any model loads."""

    def __init__(self, settings: BotSettings) -> None:
        self.settings = settings
        self.user = _login()
        self._observer: tuple[FAQEngine, AnswerObserver] | None = None
        try:
            self.store = Store(settings.database_url)
        except SQLAlchemyError as error:
            raise ConfigError(f"DATABASE_URL could not be opened: {str(error).splitlines()[0]}") from None

    def record(self, engine: FAQEngine, question: str, answer: Answer, seconds: float) -> None:
        """Report one answered question to the bots' recorder (an empty one is not recorded, as in the bots)."""
        if answer.outcome is Outcome.EMPTY_QUERY or answer.best is None:
            return
        asked = Asked(platform=PLATFORM, channel_kind=CHANNEL_KIND, user_id=self.user,
                      key=f"{PLATFORM}:{uuid.uuid4().hex}")
        # what the bots do to every message first: no control character reaches the store
        answered = Answered(asked, encodable(question), answer, str(answer.outcome), seconds,
                            answer_id=AnswerRef.from_answer(answer).answer_id)
        if self._observer is None or self._observer[0] is not engine:
            self._observer = (engine, recorder(self.store, self.settings, engine))
        try:
            self._observer[1](answered)
        except SQLAlchemyError as error:
            raise ConfigError(f"the question could not be recorded in DATABASE_URL: "
                              f"{str(error).splitlines()[0]}") from None

    def close(self) -> None:
        self.store.close()
