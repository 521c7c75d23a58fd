"""The Hub stand-in refuses what the Hub refuses, so the tests that use it
prove something: unknown tokens, writing with a read token, a private repo
without a token, a binary file committed outside LFS, an LFS object never
uploaded, a revision that does not exist."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest
import requests
from huggingface_hub import HfApi
from huggingface_hub.errors import HfHubHTTPError, RepositoryNotFoundError, RevisionNotFoundError

from faq_core.errors import FAQBotError
from faq_core.hub import head_commit
from faq_core.publish import push_folder
from tests.stubs.hub_api import READ_TOKEN, WRITE_TOKEN, HubStub

REPO = "acme/faq"


def commit(hub: HubStub, lines: list[dict[str, object]], token: str = WRITE_TOKEN) -> requests.Response:
    body = b"".join(json.dumps(line).encode() + b"\n" for line in lines)
    return requests.post(f"{hub.origin}/api/datasets/{REPO}/commit/main", data=body, timeout=10,
                         headers={"Authorization": f"Bearer {token}", "Content-Type": "application/x-ndjson"})


def header(summary: str = "a change") -> dict[str, object]:
    return {"key": "header", "value": {"summary": summary, "description": ""}}


def test_tokens_are_checked_like_the_hub(hub: HubStub) -> None:
    HfApi(endpoint=hub.origin, token=WRITE_TOKEN).create_repo(REPO, repo_type="dataset", private=True)
    assert HfApi(endpoint=hub.origin, token=READ_TOKEN).dataset_info(REPO).sha == hub.head(REPO)
    with pytest.raises(RepositoryNotFoundError):  # private, and no token: as if it did not exist
        HfApi(endpoint=hub.origin, token=False).dataset_info(REPO)
    with pytest.raises(HfHubHTTPError) as unknown:
        HfApi(endpoint=hub.origin, token="hf_not_a_real_token").dataset_info(REPO)
    assert unknown.value.response.status_code == 401
    with pytest.raises(HfHubHTTPError) as read_only:
        HfApi(endpoint=hub.origin, token=READ_TOKEN).create_repo("acme/other", repo_type="dataset")
    assert read_only.value.response.status_code == 403
    assert commit(hub, [header()], token=READ_TOKEN).status_code == 403


def test_a_binary_file_outside_lfs_and_a_missing_lfs_object_are_refused(hub: HubStub) -> None:
    HfApi(endpoint=hub.origin, token=WRITE_TOKEN).create_repo(REPO, repo_type="dataset")
    head = hub.head(REPO)
    parquet = {"key": "file", "value": {"path": "faqs/train.parquet", "encoding": "base64",
                                         "content": base64.b64encode(b"PAR1...PAR1").decode()}}
    refused = commit(hub, [header(), parquet])
    assert refused.status_code == 400 and "binary files" in refused.json()["error"]
    missing = commit(hub, [header(), {"key": "lfsFile", "value": {"path": "faqs/train.parquet", "algo": "sha256",
                                                                  "oid": "0" * 64}}])
    assert missing.status_code == 422
    assert commit(hub, [{"key": "file", "value": {}}]).status_code == 400  # no header line
    assert hub.head(REPO) == head


def test_an_unknown_revision_and_repo_are_named(hub: HubStub, sample_index_dir: Path) -> None:
    pushed = push_folder(sample_index_dir, REPO, token=WRITE_TOKEN, endpoint=hub.origin)
    assert head_commit(REPO, pushed.commit, endpoint=hub.origin) == pushed.commit
    with pytest.raises(FAQBotError, match=f"has no revision {'a' * 40}") as caught:
        head_commit(REPO, "a" * 40, endpoint=hub.origin)
    assert isinstance(caught.value.__cause__, RevisionNotFoundError)
    with pytest.raises(FAQBotError, match="the Hub has no dataset acme/none"):
        head_commit("acme/none", endpoint=hub.origin)
