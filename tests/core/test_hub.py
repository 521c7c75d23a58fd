"""Publishing an index folder: the exact Hub calls (checked on an autospec of
``HfApi``, which refuses arguments the real client does not take), the commit id handed back, and refusals before any
call is made."""

from __future__ import annotations

from pathlib import Path
from unittest.mock import MagicMock, create_autospec

import pytest
from huggingface_hub import CommitInfo, HfApi, RepoUrl

from bot.cli import main as cli
from faq_core.errors import IndexLoadError, PublishError
from faq_core.publish import push_index

COMMIT = "3f9c2e1d4b5a69788796a5b4c3d2e1f0a9b8c7d6"


def hub_api(fail_on: str | None = None) -> MagicMock:
    """An autospec of ``HfApi``: it records every call and, like the real
    client, refuses a method or an argument ``HfApi`` does not have."""
    api = create_autospec(HfApi, instance=True, spec_set=True)
    api.create_repo.return_value = RepoUrl("https://huggingface.co/datasets/acme/x")
    api.upload_folder.return_value = CommitInfo(
        commit_url=f"https://huggingface.co/datasets/acme/x/commit/{COMMIT}", commit_message="m",
        commit_description="", oid=COMMIT)
    if fail_on == "create_repo":
        api.create_repo.side_effect = RuntimeError("403 Forbidden: you cannot create a repo in this namespace")
    elif fail_on == "upload_folder":
        api.upload_folder.side_effect = RuntimeError("413 Payload Too Large")
    return api


def test_the_stand_in_refuses_what_hfapi_would() -> None:
    api = hub_api()
    with pytest.raises(TypeError):
        api.upload_folder(folder_path=".", repo_id="acme/x", repo_typ="dataset")  # misspelt argument
    with pytest.raises(AttributeError):
        api.push_folder  # noqa: B018 - no such method on HfApi


@pytest.mark.parametrize("private", [False, True])
def test_push_makes_exactly_two_calls_and_returns_the_commit(sample_index_dir: Path, private: bool) -> None:
    api = hub_api()
    commit = push_index(sample_index_dir, "acme/medicare-faq", private=private, api=api)
    assert commit == COMMIT
    assert [name for name, _, _ in api.method_calls] == ["create_repo", "upload_folder"]
    _, args, kwargs = api.method_calls[0]
    assert (args, kwargs) == (("acme/medicare-faq",), {"repo_type": "dataset", "private": private, "exist_ok": True})
    _, args, kwargs = api.method_calls[1]
    assert args == ()
    assert kwargs["folder_path"] == str(sample_index_dir)
    assert kwargs["repo_id"] == "acme/medicare-faq"
    assert kwargs["repo_type"] == "dataset"
    assert sorted(kwargs["allow_patterns"]) == sorted(
        ["README.md", "faq_index.json", "phrasings/*.parquet", "faqs/*.parquet", "state/*"]
    )
    assert "13 FAQs" in kwargs["commit_message"]
    # Every file the patterns allow exists, so the upload carries the whole index.
    for pattern in kwargs["allow_patterns"]:
        assert list(sample_index_dir.glob(pattern)), pattern


def test_a_plain_string_commit_is_returned_as_is(sample_index_dir: Path) -> None:
    api = hub_api()
    api.upload_folder.return_value = COMMIT
    assert push_index(sample_index_dir, "acme/x", api=api) == COMMIT


def test_a_folder_that_is_not_an_index_is_refused_before_any_call(tmp_path: Path) -> None:
    api = hub_api()
    (tmp_path / "README.md").write_text("hello", encoding="utf-8")
    with pytest.raises(IndexLoadError, match="not an FAQ index folder"):
        push_index(tmp_path, "acme/x", api=api)
    assert api.method_calls == []


def test_a_broken_index_is_refused_before_any_call(sample_index_dir: Path, tmp_path: Path) -> None:
    import shutil

    broken = Path(shutil.copytree(sample_index_dir, tmp_path / "broken"))
    (broken / "phrasings" / "train.parquet").write_bytes(b"not parquet at all")
    api = hub_api()
    with pytest.raises(IndexLoadError):
        push_index(broken, "acme/x", api=api)
    assert api.method_calls == []


@pytest.mark.parametrize("step", ["create_repo", "upload_folder"])
def test_hub_failures_become_publish_errors(sample_index_dir: Path, step: str) -> None:
    api = hub_api(fail_on=step)
    with pytest.raises(PublishError) as caught:
        push_index(sample_index_dir, "acme/x", api=api)
    assert "acme/x" in str(caught.value)
    assert api.method_calls[-1][0] == step


def test_cli_push_prints_the_commit_to_pin(
    sample_index_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    api = hub_api()
    api_class = create_autospec(HfApi, return_value=api)  # checks the constructor's arguments too
    import huggingface_hub

    monkeypatch.setattr(huggingface_hub, "HfApi", api_class)
    monkeypatch.setattr(cli, "setup_logging", lambda *a, **k: None)  # keep pytest's log capture in place
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("HF_TOKEN", "hf_write_token_456")
    assert cli.main(["index", "push", str(sample_index_dir), "acme/medicare-faq", "--private"]) == 0
    out = capsys.readouterr().out
    assert f"at commit {COMMIT}" in out
    assert f"FAQ_INDEX=acme/medicare-faq FAQ_INDEX_REVISION={COMMIT}" in out
    assert "hf_write_token_456" not in out
    api_class.assert_called_once_with(token="hf_write_token_456", endpoint=None)
    assert api.method_calls[0][2]["private"] is True


def test_cli_push_without_a_token_is_refused(
    sample_index_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(cli, "setup_logging", lambda *a, **k: None)
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("HF_TOKEN", raising=False)
    assert cli.main(["index", "push", str(sample_index_dir), "acme/x"]) == 2
    assert "faq-bot: error: HF_TOKEN is not set" in capsys.readouterr().err
