"""Every error faq_core raises, in one place, and the exit status each means.

All of them derive from :class:`FAQBotError`, so a caller (the command line,
a bot) can catch one type and show ``str(error)``: each message is written
for the person who must act on it and never contains a token. The service
built on this library (``bot``) derives its own errors from these two bases
(``bot/errors.py``).

Two kinds, which an exit status tells apart (:func:`exit_status`):
:class:`ServiceError`, a service the command needs failed or could not be
reached (the embedding service, the Hub, a database server; exit 1), and
every other :class:`FAQBotError`, input or a setting to fix (exit 2).
"""

from __future__ import annotations

from pathlib import Path


class FAQBotError(Exception):
    """Base class of every error this project raises on purpose."""


class ServiceError(FAQBotError):
    """A service the command needs failed or could not be reached within its
    retry budget: the embedding service, the Hugging Face Hub, a database
    server. Trying again later may help; nothing in the input is wrong."""


class ConfigError(FAQBotError, ValueError):
    """A setting is missing or malformed; the message names the setting."""


class FAQSourceError(FAQBotError, ValueError):
    """An FAQ source file is malformed: carries the file, line and reason."""

    def __init__(self, path: str | Path, line: int | None, reason: str) -> None:
        self.path = str(path)
        self.line = line
        self.reason = reason
        where = f"{self.path}:{line}" if line is not None else self.path
        super().__init__(f"{where}: {reason}")


class SourceFetchError(FAQSourceError, ServiceError):
    """An FAQ source at an http(s) URL could not be fetched because the network
    or the server failed (a timeout, a refused connection, a 5xx, rate limits
    that outlast the retries): trying again later may help, unlike a source
    that is malformed, too large or refused (a plain :class:`FAQSourceError`),
    so it is a :class:`ServiceError` too (exit status 1: a scheduled
    ``faq-bot sync`` tells a server that was down from a source to fix)."""


class IndexLoadError(FAQBotError):
    """An FAQ index could not be read (missing, corrupt, or not an index)."""


class IndexWriteError(FAQBotError, OSError):
    """An index folder could not be written where asked: the path holds
    something that is not an index (refused before anything is touched), or
    the file system failed. Either way the previous contents are left in place."""


class TableError(FAQBotError, ValueError):
    """A table of an index folder does not have the shape of an FAQ index table."""


class MissingTableError(TableError):
    """A folder has no Parquet file of a table (none yet, or one moved away)."""


class MixedBuildError(TableError):
    """A folder's tables are not of the build its metadata names (a build is
    replacing them, or one was interrupted)."""


class IndexMismatchError(FAQBotError):
    """The index was built by another model, dimension or normalisation than
    the query embedder: comparing such vectors would give meaningless scores."""


class EmbeddingError(ServiceError):
    """The embedding service could not embed the texts.

    ``retryable`` says whether trying again later may help (timeouts, 5xx,
    429), as opposed to problems that need a person (bad token, no credits).
    """

    retryable: bool = False

    def __init__(self, message: str, *, status: int | None = None) -> None:
        self.status = status
        super().__init__(message)


class EmbeddingUnavailableError(EmbeddingError, ConnectionError):
    """Connection failures, timeouts, 5xx, 503 loading, 429: the retry budget
    ran out before the service answered."""

    retryable = True


class EmbeddingAuthError(EmbeddingError, PermissionError):
    """401/403: the token is missing, wrong, or lacks the inference permission."""


class EmbeddingQuotaError(EmbeddingError):
    """402: the account's included credits are used up."""


class EmbeddingNotFoundError(EmbeddingError, LookupError):
    """404/410: wrong model id, wrong URL, or the retired api-inference host."""


class EmbeddingInputError(EmbeddingError, ValueError):
    """400/413/422: the service refused the input (too long, too many)."""


class EmbeddingResponseError(EmbeddingError, ValueError):
    """The service answered 2xx with something that is not usable vectors."""


class PublishError(FAQBotError):
    """The Hub refused or could not take the upload."""


class HubUnreachableError(FAQBotError):
    """The Hub did not say which commit a branch points at (down, refused, no such repo)."""


class RepoNotFoundError(HubUnreachableError):
    """The Hub has no such dataset (or the token may not see it)."""


class NoSuchRevisionError(RepoNotFoundError):
    """The dataset exists, but not the revision asked for."""


class HubDownError(HubUnreachableError, ServiceError):
    """The Hub could not be reached, timed out or failed (429, 5xx) on every
    attempt: a service failed, nothing in the request is wrong."""


# Failures of the embedding service itself, not of one question: asking again at once, or one by
# one, cannot help, and while they last the bot is not ready.
SERVICE_ERRORS = (EmbeddingUnavailableError, EmbeddingAuthError, EmbeddingQuotaError, EmbeddingNotFoundError)


EXIT_INPUT = 2  # bad input or settings: the person must change something
EXIT_SERVICE = 1  # a service failed: trying again later may help


def exit_status(error: FAQBotError) -> int:
    """The CLI's exit status for ``error``: 1 for a :class:`ServiceError`, 2 for any other."""
    return EXIT_SERVICE if isinstance(error, ServiceError) else EXIT_INPUT
