"""Publishing an index folder to the Hugging Face Hub.

One ``create_repo`` (idempotent) and one ``upload_folder`` commit: Parquet
over the Hub's HTTP API, no git and no git-lfs. The commit id is returned so
deployments can pin ``FAQ_INDEX_REVISION`` to exactly what was pushed.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from faq_core.errors import FAQBotError, IndexLoadError
from faq_core.index import META_FILE, load_index


class PublishError(FAQBotError):
    """The Hub refused or could not take the upload."""


def push_index(folder: str | Path, repo_id: str, *, private: bool = False, token: str | None = None,
               api: Any = None) -> str:
    """Upload an index folder as a dataset repo; return the commit id.

    The folder is loaded first, so a broken index is refused before anything
    reaches the Hub. ``api`` defaults to ``huggingface_hub.HfApi(token=token)``.
    """
    folder = Path(folder)
    if not (folder / META_FILE).is_file():
        raise IndexLoadError(f"{folder} is not an FAQ index folder (no {META_FILE})")
    index = load_index(folder)
    if api is None:
        from huggingface_hub import HfApi

        api = HfApi(token=token)
    try:
        api.create_repo(repo_id, repo_type="dataset", private=private, exist_ok=True)
        commit = api.upload_folder(
            folder_path=str(folder),
            repo_id=repo_id,
            repo_type="dataset",
            commit_message=f"faq-bot index: {index.meta.faq_count} FAQs, {index.meta.model_id}",
            allow_patterns=["README.md", META_FILE, "phrasings/*.parquet", "faqs/*.parquet"],
        )
    except Exception as error:  # huggingface_hub raises HTTP and validation errors of many types
        raise PublishError(f"could not publish {folder} to {repo_id}: {error}") from error
    return str(getattr(commit, "oid", None) or commit)
