"""The Hugging Face Hub, as faq-bot uses it: publishing an index folder, and
asking which commit a branch points at.

Publishing is one ``create_repo`` (idempotent) and one ``upload_folder``
commit: Parquet over the Hub's HTTP API, no git and no git-lfs. The commit id
is returned so deployments can pin ``FAQ_INDEX_REVISION`` to exactly what was
pushed; with ``create_pr`` the commit opens a pull request instead of moving
``main``. Every call goes to ``endpoint`` (``HF_ENDPOINT``; None: the Hub).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from faq_core.errors import FAQBotError, IndexLoadError
from faq_core.index import META_FILE, load_index

DEFAULT_BRANCH = "main"
_COMMIT_ID = re.compile(r"^[0-9a-f]{40}$")
UPLOADED = ["README.md", META_FILE, "phrasings/*.parquet", "faqs/*.parquet"]


class PublishError(FAQBotError):
    """The Hub refused or could not take the upload."""


class HubUnreachableError(FAQBotError):
    """The Hub did not say which commit a branch points at (down, refused, no such repo)."""


class RepoNotFoundError(HubUnreachableError):
    """The Hub has no such dataset (or the token may not see it)."""


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
    from huggingface_hub import HfApi

    return HfApi(token=token, endpoint=endpoint)


def head_commit(repo_id: str, revision: str = DEFAULT_BRANCH, *, token: str | None = None,
                endpoint: str | None = None, api: Any = None) -> str:
    """The commit ``revision`` of the dataset ``repo_id`` points at now
    (``HfApi.dataset_info(...).sha``). Raises :class:`HubUnreachableError`."""
    from huggingface_hub.errors import RepositoryNotFoundError, RevisionNotFoundError

    api = api or hub_api(token, endpoint)
    try:
        sha = api.dataset_info(repo_id, revision=revision).sha
    except RevisionNotFoundError as error:
        raise RepoNotFoundError(f"the Hub dataset {repo_id} has no revision {revision}") from error
    except RepositoryNotFoundError as error:
        raise RepoNotFoundError(f"the Hub has no dataset {repo_id} (or the token may not see it)") from error
    except Exception as error:  # huggingface_hub raises HTTP, offline and validation errors of many types
        raise HubUnreachableError(f"cannot ask the Hub for {repo_id}@{revision}: {_first_line(error)}") from error
    if not sha:
        raise HubUnreachableError(f"the Hub did not name the commit of {repo_id}@{revision}")
    return str(sha)


def push_index(folder: str | Path, repo_id: str, *, private: bool = False, token: str | None = None,
               api: Any = None, message: str | None = None) -> str:
    """Upload an index folder as a dataset repo; return the commit id.

    The folder is loaded first, so a broken index is refused before anything
    reaches the Hub. ``api`` defaults to ``huggingface_hub.HfApi(token=token)``.
    """
    return push_folder(folder, repo_id, private=private, token=token, api=api, message=message).commit


def push_folder(folder: str | Path, repo_id: str, *, private: bool = False, token: str | None = None,
                endpoint: str | None = None, api: Any = None, message: str | None = None,
                description: str = "", create_pr: bool = False) -> Pushed:
    """:func:`push_index` with a commit ``message`` and ``description`` of
    the caller's, to ``endpoint``, optionally as a pull request (``create_pr``)."""
    folder = Path(folder)
    if not (folder / META_FILE).is_file():
        raise IndexLoadError(f"{folder} is not an FAQ index folder (no {META_FILE})")
    index = load_index(folder)
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
            commit_message=message or f"faq-bot index: {index.meta.faq_count} FAQs, {index.meta.model_id}",
            allow_patterns=UPLOADED,
            **extra,
        )
    except Exception as error:  # huggingface_hub raises HTTP and validation errors of many types
        raise PublishError(f"could not publish {folder} to {repo_id}: {_first_line(error)}") from error
    return Pushed(str(getattr(commit, "oid", None) or commit), getattr(commit, "pr_url", None))


def _first_line(error: BaseException) -> str:
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__
