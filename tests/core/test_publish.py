"""``faq-bot publish``: build, gate against the served revision, push one
commit that says what changed; and ``faq-bot index diff``. Everything goes
through the real ``huggingface_hub`` client to the Hub stand-in."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from pathlib import Path

import pytest

from bot.cli import main as cli
from faq_core.embedders import LocalEmbedder
from faq_core.errors import FAQBotError
from faq_core.evaluation import LabelledQuery
from faq_core.index import load_index
from faq_core.publish import publish
from faq_core.settings import load_settings
from tests.conftest import CLIResult
from tests.faq_sources import NEW_FAQ, build_folder, changed_rows, sample_rows, upload, write_source
from tests.stubs.hub_api import READ_TOKEN, WRITE_TOKEN, HubStub

REPO = "acme/medicare-faq"
Run = Callable[..., CLIResult]


def commits_posted(hub: HubStub) -> int:
    return sum(1 for r in hub.requests if r.method == "POST" and "/commit/" in r.path)


def test_first_and_second_publish_push_one_commit_each_saying_what_changed(
    hub: HubStub, tmp_path: Path, local_embedder: LocalEmbedder
) -> None:
    settings = load_settings(dotenv=False)
    first = publish(write_source(tmp_path / "v1.csv", sample_rows()), REPO, settings, [], embedder=local_embedder)
    assert first.pushed is not None and first.previous is None
    assert hub.head(REPO) == first.pushed.commit
    assert hub.message(REPO).startswith("faq-bot publish: 13 FAQs added, 0 edited, 0 removed")

    second = publish(write_source(tmp_path / "v2.csv", changed_rows()), REPO, settings, [], embedder=local_embedder)
    assert second.pushed is not None and second.previous == first.pushed.commit
    message = hub.message(REPO)
    assert message.startswith("faq-bot publish: 1 FAQ added, 1 edited, 0 removed; 3 phrasings added, 0 removed")
    assert f"+ FAQ {NEW_FAQ['id']}" in message and "~ FAQ sign-up (answer changed)" in message
    assert "+ phrasing: how much does part b cost me a month" in message
    assert f"Previous revision: {first.pushed.commit}" in message and "Gate: " in message
    served = load_index(REPO, second.pushed.commit, endpoint=hub.origin)
    assert served.faq_by_id(NEW_FAQ["id"]) is not None and served.meta.auto_threshold
    assert commits_posted(hub) == 2


def test_the_gate_refuses_a_drop_on_labelled_questions_and_force_records_the_override(
    hub: HubStub, tmp_path: Path, local_embedder: LocalEmbedder
) -> None:
    settings = load_settings(dotenv=False)
    upload(hub, REPO, build_folder(sample_rows(), tmp_path / "v1", local_embedder))
    before = hub.head(REPO)
    labelled = [LabelledQuery("How do I get a replacement Medicare card?", "replacement-card"),
                LabelledQuery("How do I sign up for Medicare?", "sign-up")]
    source = write_source(tmp_path / "v2.csv", changed_rows(remove="replacement-card"))

    refused = publish(source, REPO, settings, labelled, embedder=local_embedder)
    assert refused.refused and refused.pushed is None
    assert "answered-and-correct drops from 1.000 to 0.500 on 2 labelled questions" in refused.gate.reasons[0]
    assert [c.expected for c in refused.gate.changed] == ["replacement-card"]
    assert hub.head(REPO) == before and commits_posted(hub) == 0

    forced = publish(source, REPO, settings, labelled, embedder=local_embedder, force=True)
    assert forced.pushed is not None and hub.head(REPO) == forced.pushed.commit
    assert "(gate overridden with --force)" in hub.message(REPO)
    assert "Gate failure overridden: answered-and-correct drops" in hub.message(REPO)


def test_an_faq_no_phrasing_can_reach_is_refused(hub: HubStub, tmp_path: Path, local_embedder: LocalEmbedder) -> None:
    rows = sample_rows()
    sign_up = next(row for row in rows if row["id"] == "sign-up")
    rows.append(dict(sign_up, id="sign-up-copy", answer="the same question, another answer"))
    publication = publish(write_source(tmp_path / "dup.csv", rows), REPO, load_settings(dotenv=False), [],
                          embedder=local_embedder)
    assert publication.refused and publication.pushed is None
    # the two FAQs have the same phrasings: one of them always wins, the other is never reached
    assert len(publication.gate.unreachable) == 1 and publication.gate.unreachable[0] in {"sign-up", "sign-up-copy"}
    assert REPO not in hub.repos or commits_posted(hub) == 0


def test_create_pr_leaves_main_alone_and_an_unchanged_source_pushes_nothing(
    hub: HubStub, tmp_path: Path, local_embedder: LocalEmbedder
) -> None:
    settings = load_settings(dotenv=False)
    first = publish(write_source(tmp_path / "v1.csv", sample_rows()), REPO, settings, [], embedder=local_embedder)
    assert first.pushed is not None
    again = publish(write_source(tmp_path / "same.csv", sample_rows()), REPO, settings, [], embedder=local_embedder)
    assert again.pushed is None and any("nothing to publish" in note for note in again.notes)

    pr = publish(write_source(tmp_path / "v2.csv", changed_rows()), REPO, settings, [], embedder=local_embedder,
                 create_pr=True)
    assert pr.pushed is not None and pr.pushed.pr_url and pr.pushed.pr_url.endswith("/discussions/1")
    assert hub.head(REPO) == first.pushed.commit  # main did not move
    assert hub.head(REPO, "refs/pr/1") == pr.pushed.commit


def test_labelled_out_of_scope_questions_redo_the_calibration(
    hub: HubStub, tmp_path: Path, local_embedder: LocalEmbedder
) -> None:
    labelled = [LabelledQuery("How do I sign up for Medicare?", "sign-up"),
                LabelledQuery("What is the capital of France?", None),
                LabelledQuery("Can you recommend a good pizza place?", None)]
    publication = publish(write_source(tmp_path / "v1.csv", sample_rows()), REPO, load_settings(dotenv=False),
                          labelled, embedder=local_embedder)
    assert publication.pushed is not None
    meta = load_index(REPO, publication.pushed.commit, endpoint=hub.origin).meta
    assert meta.min_score is not None and meta.calibration["out_of_scope"] == 2
    assert any(note.startswith("recalibrated the threshold") for note in publication.notes)


def test_publish_needs_a_write_token(hub: HubStub, tmp_path: Path, local_embedder: LocalEmbedder) -> None:
    source = write_source(tmp_path / "v1.csv", sample_rows())
    with pytest.raises(FAQBotError, match="HF_TOKEN is not set"):
        publish(source, REPO, dataclasses.replace(load_settings(dotenv=False), hf_token=None), [],
                embedder=local_embedder)
    read_only = dataclasses.replace(load_settings(dotenv=False), hf_token=READ_TOKEN)
    with pytest.raises(FAQBotError, match="could not publish") as caught:
        publish(source, REPO, read_only, [], embedder=local_embedder)
    assert READ_TOKEN not in str(caught.value)
    assert REPO not in hub.repos


def test_cli_publish_gates_with_the_stores_votes_then_pushes(
    hub: HubStub, run_cli: Run, tmp_path: Path, local_embedder: LocalEmbedder
) -> None:
    """The installed command, configured only by its environment, against the stand-in."""
    from bot.store.database import Store, Vote

    upload(hub, REPO, build_folder(sample_rows(), tmp_path / "v1", local_embedder))
    store = Store(f"sqlite:///{tmp_path / 'faq_bot.db'}")
    store.record_vote(Vote("a1", "U1", "How do I get a replacement Medicare card?", "replacement-card", 0.9, "C1",
                           "helpful"))
    store.close()
    env = {"HF_HUB_OFFLINE": "0", "HF_HUB_DISABLE_XET": "1", "HF_ENDPOINT": hub.origin, "HF_TOKEN": WRITE_TOKEN,
           "EMBEDDING_BACKEND": "local", "DATABASE_URL": "sqlite:///faq_bot.db"}
    write_source(tmp_path / "bad.csv", changed_rows(remove="replacement-card"))
    refused = run_cli(["publish", "bad.csv", REPO], **env)
    assert refused.code == 1, refused.err
    assert "labelled questions: 1 from the store" in refused.out
    assert "faq-bot: refused: answered-and-correct drops from 1.000 to 0.000" in refused.out
    assert "nothing was pushed" in refused.out and WRITE_TOKEN not in refused.out + refused.err

    write_source(tmp_path / "good.csv", changed_rows())
    pushed = run_cli(["publish", "good.csv", REPO], **env)
    assert pushed.code == 0, pushed.err
    commit = hub.head(REPO)
    assert f"pin it with: FAQ_INDEX={REPO} FAQ_INDEX_REVISION={commit}" in pushed.out
    assert "1 FAQ added, 1 edited, 0 removed" in pushed.out


def test_index_diff_names_faqs_and_phrasings(
    tmp_path: Path, local_embedder: LocalEmbedder, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    old = build_folder(sample_rows(), tmp_path / "old", local_embedder)
    new = build_folder(changed_rows(remove="terminate-part-b"), tmp_path / "new", local_embedder)
    monkeypatch.setattr(cli, "setup_logging", lambda *a, **k: None)
    monkeypatch.chdir(tmp_path)
    assert cli.main(["index", "diff", str(old), str(new)]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].endswith("1 FAQ added, 1 edited, 1 removed; 3 phrasings added, 2 removed")
    assert f"+ FAQ {NEW_FAQ['id']}" in out and "- FAQ terminate-part-b" in out
    assert "~ FAQ part-b-premium" in out and "    + phrasing: how much does part b cost me a month" in out
    # every count takes the number it needs
    rephrased = build_folder(changed_rows(add=False, edit=None), tmp_path / "rephrased", local_embedder)
    assert cli.main(["index", "diff", str(old), str(rephrased)]) == 0
    assert capsys.readouterr().out.splitlines()[0].endswith(
        ": 0 FAQs added, 0 edited, 0 removed; 1 phrasing added, 0 removed")


def test_a_broken_revision_on_main_can_be_replaced(hub: HubStub, tmp_path: Path, local_embedder: LocalEmbedder
                                                   ) -> None:
    upload(hub, REPO, build_folder(sample_rows(), tmp_path / "v1", local_embedder))
    files = dict(hub.files(REPO), **{"faqs/train.parquet": b"not parquet"})
    hub.put_commit(REPO, files, "a broken upload")
    fixed = publish(write_source(tmp_path / "v2.csv", sample_rows()), REPO, load_settings(dotenv=False), [],
                    embedder=local_embedder)
    assert fixed.pushed is not None and hub.head(REPO) == fixed.pushed.commit
    assert any(note.startswith("the revision main serves cannot be loaded") for note in fixed.notes)
