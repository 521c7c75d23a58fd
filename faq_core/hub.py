"""The Hugging Face Hub, as faq-bot uses it: asking which commit a branch
points at, fetching a dataset's files, and uploading a folder as one commit.
It knows nothing of the index's layout (:mod:`faq_core.index` reads through
:func:`fetch_files`, :mod:`faq_core.publish` uploads through :func:`upload_folder`).

An upload is one ``create_repo`` (idempotent) and one ``upload_folder``
commit: Parquet over the Hub's HTTP API, no git and no git-lfs. The commit id
is returned so deployments can pin ``FAQ_INDEX_REVISION`` to exactly what was
pushed; with ``create_pr`` the commit opens a pull request instead of moving
``main``. Every call goes to ``endpoint`` (``HF_ENDPOINT``; None: the Hub).

A Hub that cannot be reached fails fast: asking which commit a branch points
at is tried at most :data:`HUB_ATTEMPTS` times, :data:`HUB_BACKOFF` apart (:mod:`faq_core.retry`),
each request given :data:`HUB_TIMEOUT` seconds, and only on a connection
error, a timeout, 429 or 5xx (:func:`is_outage`); then :class:`HubDownError`,
a :class:`~faq_core.errors.ServiceError`. Fetching asks that first, so the
client library's own retries (about 23 s of back-off) are not paid for a
Hub that is down, and falls back to the local Hub cache when it is.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from faq_core.errors import (
    FAQBotError,
    HubDownError,
    HubUnreachableError,
    IndexLoadError,
    NoSuchRevisionError,
    PublishError,
    RepoNotFoundError,
)
from faq_core.retry import Attempt, Backoff, retry

log = logging.getLogger(__name__)

DEFAULT_BRANCH = "main"
_COMMIT_ID = re.compile(r"^[0-9a-f]{40}$")
HUB_TIMEOUT = 10.0  # seconds each request to the Hub may take (connecting, then each read)
HUB_BACKOFF = Backoff(first=0.5, cap=1.0)  # seconds before the second (0.5) and the third attempt (1.0)
HUB_ATTEMPTS = 3
_OUTAGE_STATUSES = (408, 429, 500, 502, 503, 504)


@dataclass(frozen=True)
class Pushed:
    """What a push made: the commit, and the pull request when one was opened."""

    commit: str
    pr_url: str | None = None


def is_commit_id(revision: str | None) -> bool:
    """Whether ``revision`` is a full commit id (pinned), not a branch or tag to follow."""
    return bool(revision) and bool(_COMMIT_ID.match(str(revision)))


def hub_api(token: str | None = None, endpoint: str | None = None) -> Any:
    """``huggingface_hub.HfApi`` for ``endpoint`` (None: the Hub) with ``token``."""
    _quiet_library()
    from huggingface_hub import HfApi

    return HfApi(token=token, endpoint=endpoint)


def _quiet_library() -> None:
    """Import ``huggingface_hub`` without the log handler it adds to its own
    logger: its records then reach ours once (formatted, secrets masked),
    not a second time unmasked on stderr."""
    import huggingface_hub.utils.logging  # noqa: F401  (importing it adds the handler)

    logging.getLogger("huggingface_hub").handlers.clear()


def _offline() -> bool:
    from huggingface_hub import constants

    return bool(constants.HF_HUB_OFFLINE)


def is_outage(error: BaseException) -> bool:
    """Whether ``error`` (from ``huggingface_hub``, or anything it chains)
    means the Hub could not be reached or failed (a connection error, a
    timeout, 408, 429, 5xx), as opposed to a refusal of the request itself
    (no such repo, a bad token) or ``HF_HUB_OFFLINE``."""
    import httpx2
    from huggingface_hub.errors import OfflineModeIsEnabled

    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, OfflineModeIsEnabled):
            return False
        if isinstance(current, (httpx2.TransportError, ConnectionError, TimeoutError)):
            return True
        status = getattr(getattr(current, "response", None), "status_code", None)
        if isinstance(status, int) and status in _OUTAGE_STATUSES:
            return True
        current = current.__cause__ or current.__context__
    return False


def _where(endpoint: str | None) -> str:
    from huggingface_hub import constants

    return endpoint or constants.ENDPOINT


def head_commit(repo_id: str, revision: str = DEFAULT_BRANCH, *, token: str | None = None,
                endpoint: str | None = None, api: Any = None) -> str:
    """The commit ``revision`` of the dataset ``repo_id`` points at now
    (``HfApi.dataset_info(...).sha``), asked within the retry budget (see
    the module docstring). Raises :class:`RepoNotFoundError`,
    :class:`HubDownError` (a service failed) or :class:`HubUnreachableError`."""
    from huggingface_hub.errors import RepositoryNotFoundError, RevisionNotFoundError

    api = api or hub_api(token, endpoint)
    if _offline():
        raise HubUnreachableError(f"HF_HUB_OFFLINE is set, so the Hub is not asked for {repo_id}@{revision}")

    def ask(_: Attempt) -> Any:
        try:
            return api.dataset_info(repo_id, revision=revision, timeout=HUB_TIMEOUT).sha
        except RevisionNotFoundError as error:
            raise NoSuchRevisionError(f"the Hub dataset {repo_id} has no revision {revision}") from error
        except RepositoryNotFoundError as error:
            raise RepoNotFoundError(f"the Hub has no dataset {repo_id} (or the token may not see it)") from error
        except Exception as error:  # huggingface_hub raises HTTP, offline and validation errors of many types
            if not is_outage(error):
                raise HubUnreachableError(f"cannot ask the Hub for {repo_id}@{revision}: {_first_line(error)}"
                                          ) from error
            raise  # an outage: asked again

    def give_up(error: BaseException, attempts: int) -> HubDownError:
        return HubDownError(f"the Hub at {_where(endpoint)} could not be reached for {repo_id}@{revision}: "
                            f"{_first_line(error)} ({attempts} attempts)")

    def on_retry(error: BaseException, attempt: int, _pause: float) -> None:
        log.debug("the Hub did not answer for %s (attempt %d of %d): %s", repo_id, attempt, HUB_ATTEMPTS,
                  _first_line(error))

    sha = retry(ask, retryable=lambda error: not isinstance(error, FAQBotError), give_up=give_up,
                backoff=HUB_BACKOFF, attempts=HUB_ATTEMPTS, on_retry=on_retry)
    if not sha:
        raise HubUnreachableError(f"the Hub did not name the commit of {repo_id}@{revision}")
    return str(sha)


def fetch_files(repo_id: str, revision: str | None, patterns: list[str], *, endpoint: str | None = None,
                hub_error: HubUnreachableError | None = None) -> Path:
    """The files of the dataset ``repo_id`` at ``revision`` (None: ``main``)
    matching ``patterns``, as a folder of the local Hub cache (downloaded when
    missing). A branch is first resolved to its commit with :func:`head_commit`;
    when the Hub is down (or ``hub_error`` says it already failed to answer)
    the cache's copy is used, and without one that failure is raised.
    ``HF_HUB_OFFLINE=1``: the cache only, never the Hub."""
    _quiet_library()
    from huggingface_hub import snapshot_download

    wanted = revision or DEFAULT_BRANCH
    offline = _offline()
    if hub_error is None and not offline and not is_commit_id(revision):
        try:
            revision = head_commit(repo_id, wanted, endpoint=endpoint)
        except HubDownError as error:
            hub_error = error
    try:
        return Path(snapshot_download(repo_id, repo_type="dataset", revision=revision, endpoint=endpoint,
                                      allow_patterns=patterns, local_files_only=hub_error is not None))
    except Exception as error:  # huggingface_hub raises HTTP, offline and cache errors of many types
        if hub_error is not None:
            raise type(hub_error)(f"{hub_error}; the local Hub cache does not hold {repo_id}@{wanted} either"
                                  ) from error
        if offline:
            raise IndexLoadError(f"the local Hub cache does not hold {repo_id}@{wanted}, and HF_HUB_OFFLINE is "
                                 "set, so the Hub is not asked") from None
        if is_outage(error):
            raise HubDownError(f"cannot fetch the Hub dataset {repo_id}@{wanted} from {_where(endpoint)}: "
                               f"{_first_line(error)}") from error
        raise IndexLoadError(f"cannot fetch the Hub dataset {repo_id}@{wanted}: {_first_line(error)}") from error


def upload_folder(folder: str | Path, repo_id: str, *, patterns: list[str], message: str, private: bool = False,
                  token: str | None = None, endpoint: str | None = None, api: Any = None, description: str = "",
                  create_pr: bool = False) -> Pushed:
    """Upload the files of ``folder`` matching ``patterns`` to the dataset
    ``repo_id`` (created if missing, ``private`` then) as one commit with
    ``message`` and ``description``, to ``endpoint``, optionally as a pull
    request (``create_pr``). ``api`` defaults to ``huggingface_hub.HfApi``
    with ``token``. Raises :class:`HubDownError` when the Hub failed, else
    :class:`PublishError`."""
    if api is None:
        api = hub_api(token, endpoint)
    extra: dict[str, Any] = {}
    if description:
        extra["commit_description"] = description
    if create_pr:
        extra["create_pr"] = True
    try:
        api.create_repo(repo_id, repo_type="dataset", private=private, exist_ok=True)
        commit = api.upload_folder(
            folder_path=str(folder),
            repo_id=repo_id,
            repo_type="dataset",
            commit_message=message,
            allow_patterns=patterns,
            **extra,
        )
    except Exception as error:  # huggingface_hub raises HTTP and validation errors of many types
        if is_outage(error):
            raise HubDownError(f"could not publish {folder} to {repo_id}: the Hub at {_where(endpoint)} failed: "
                               f"{_first_line(error)}") from error
        raise PublishError(f"could not publish {folder} to {repo_id}: {_first_line(error)}") from error
    return Pushed(str(getattr(commit, "oid", None) or commit), getattr(commit, "pr_url", None))


def _first_line(error: BaseException) -> str:
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__
