"""The installed ``faq-bot`` console script, run as a user runs it: a
subprocess with an offline environment and every cache under ``tmp_path``.

Each run that embeds pays for loading the model (a few seconds), so the runs
are few and each checks as much as it can.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from importlib import metadata
from pathlib import Path

import numpy as np
import pytest

from faq_core.embedders import LocalEmbedder
from faq_core.faqs import load_faqs
from faq_core.index import load_index
from faq_core.sample import sample_source
from faq_core.scoring import GROUPED_VERSION
from faq_core.threshold import GROUP_METHOD, method_words
from tests.conftest import CLIResult
from tests.core.conftest import closed_port, write

Run = Callable[..., CLIResult]
MATCH_KEYS = {"faq_id", "question", "answer", "url", "score", "cosine"}

SOURCE = """id,question,answer,url,alternates,tags
coffee,Where is the coffee machine?,On the third floor next to the lifts.,https://intranet.example/coffee,\
Where can I get coffee?|Is there an espresso machine?,office
wifi,What is the guest wifi password?,Ask reception for today's password.,,guest wifi|wifi for visitors,it
payday,When is payday?,On the last working day of each month.,,When do we get paid?,hr
"""


def assert_clean_error(result: CLIResult, status: int, *, retries_logged: bool = False) -> str:
    """One ``faq-bot: error: ...`` line on stderr, the given status, no
    traceback; with ``retries_logged``, the retry warnings may come before it."""
    assert result.code == status, result.err
    assert "Traceback" not in result.err
    lines = result.err.strip().splitlines()
    before = lines[:-1]
    if retries_logged:
        assert all(" WARNING faq_core.embedders.http: embedding request " in line for line in before), result.err
    else:
        assert before == [], result.err
    assert lines[-1].startswith("faq-bot: error: ")
    return lines[-1]


def test_ask_prints_a_table_from_the_bundled_sample(run_cli: Run, tmp_path: Path) -> None:
    result = run_cli(["ask", "How can Medicare help me?", "I lost my Medicare card", "What's the capital of France?"])
    assert result.code == 0, result.err
    assert result.err == ""  # no log lines or library progress bars, even while building the sample
    blocks = result.out.strip().split("\n\n")
    assert [b.splitlines()[0] for b in blocks] == [
        "Q: How can Medicare help me?", "Q: I lost my Medicare card", "Q: What's the capital of France?",
    ]
    assert "answered: confidence" in blocks[1]
    assert "How do I get a replacement Medicare card?  [replacement-card]" in blocks[1]
    assert "source: https://www.medicare.gov/" in blocks[1]  # the answer's link is shown
    assert "no confident match" in blocks[2]
    assert "(automatic)" in blocks[1]  # where the threshold came from
    for block in blocks:
        ranked = [line for line in block.splitlines() if line.strip()[:2] in ("1.", "2.", "3.")]
        assert len(ranked) == 3
        assert all(re.search(r"\(cosine -?[01]\.\d{3}\)$", line) for line in ranked)  # the raw cosine, as a detail
        # the one number shown beside each FAQ, worded as what it is, orders the list and is never negative
        shown = [re.match(r"\s*\d\.\s+(<1|\d+)% confidence  ", line) for line in ranked]
        assert all(shown), block
        values = [0.5 if m.group(1) == "<1" else int(m.group(1)) for m in shown]  # type: ignore[union-attr]
        assert values == sorted(values, reverse=True) and min(values) >= 0
    confidence = float(re.search(r"answered: confidence (\d\.\d+)", blocks[1]).group(1))  # type: ignore[union-attr]
    assert f"{confidence * 100:.0f}%" in blocks[1].splitlines()[2]  # the top FAQ's number is the confidence
    # The sample index was built on first use and cached under FAQ_CACHE_DIR (beside the ONNX model).
    cached = [p for p in (tmp_path / "faq-bot").iterdir() if p.name != "onnx"]
    assert len(cached) == 1 and (cached[0] / "faq_index.json").is_file()


def test_ask_json_with_questions_from_stdin(run_cli: Run) -> None:
    result = run_cli(
        ["ask", "--json", "-k", "2", "I lost my Medicare card", "-"],
        stdin="What is TRICARE?\n\n   \nWhat's the capital of France?\n",
    )
    assert result.code == 0, result.err
    rows = [json.loads(line) for line in result.out.splitlines()]
    queries = ["I lost my Medicare card", "What is TRICARE?", "What's the capital of France?"]
    assert [r["query"] for r in rows] == queries
    for row in rows:
        assert set(row) == {"query", "answered", "matches", "confidence", "threshold", "threshold_source", "outcome"}
        assert row["threshold_source"] == "automatic" and 0 < row["threshold"] < 1
        assert row["answered"] == (row["confidence"] >= row["threshold"])
        assert row["confidence"] == row["matches"][0]["score"]
        assert isinstance(row["answered"], bool)
        assert len(row["matches"]) == 2
        for match in row["matches"]:
            assert set(match) == MATCH_KEYS
            assert isinstance(match["faq_id"], str) and isinstance(match["question"], str)
            assert match["answer"] is None or isinstance(match["answer"], str)
            assert match["url"] is None or isinstance(match["url"], str)
            assert isinstance(match["score"], float) and 0.0 <= match["score"] <= 1.0
            assert isinstance(match["cosine"], float) and -1.0 <= match["cosine"] <= 1.0
        assert row["matches"][0]["score"] >= row["matches"][1]["score"]
    assert rows[0]["answered"] and rows[0]["matches"][0]["faq_id"] == "replacement-card"
    assert rows[1]["answered"] and rows[1]["matches"][0]["faq_id"] == "tricare"
    assert rows[1]["matches"][0]["cosine"] > 0.9  # a true cosine, unrounded
    assert not rows[2]["answered"]


def test_build_an_index_then_ask_it_and_inspect_it(
    run_cli: Run, tmp_path: Path, local_embedder: LocalEmbedder
) -> None:
    header, *rows = SOURCE.splitlines()
    sheet = "\n".join([header + ",Owner,answr", *(row + ",facilities,x" for row in rows)]) + "\n"
    source = write(tmp_path / "office.csv", sheet)
    built = run_cli(["index", "build", str(source), "--out", str(tmp_path / "office-index")])
    assert built.code == 0, built.err
    assert "3 FAQs, 8 phrasings" in built.out
    assert built.err.splitlines() == [
        "faq-bot: note: kept the extra column(s) Owner, answr (did you mean answer?) as FAQ metadata "
        "(not embedded; listed by 'faq-bot index info')"]
    index = load_index(tmp_path / "office-index")
    assert [f.id for f in index.faqs] == ["coffee", "wifi", "payday"]
    np.testing.assert_allclose(index.vectors, local_embedder.embed(index.texts), atol=1e-6)

    asked = run_cli(["ask", "--json", "--index", str(tmp_path / "office-index"), "where do I get an espresso"])
    assert asked.code == 0, asked.err
    [row] = [json.loads(line) for line in asked.out.splitlines()]
    assert row["answered"]
    assert row["matches"][0] == {
        "faq_id": "coffee", "question": "Where is the coffee machine?",
        "answer": "On the third floor next to the lifts.", "url": "https://intranet.example/coffee",
        "score": row["matches"][0]["score"], "cosine": row["matches"][0]["cosine"],
    }
    assert len(row["matches"]) == 3
    assert row["threshold_source"] == "automatic"

    info = run_cli(["index", "info", str(tmp_path / "office-index")])
    assert info.code == 0, info.err
    meta = json.loads(info.out)
    assert meta["location"] == str(tmp_path / "office-index")
    assert meta["model_id"] == "sentence-transformers/all-MiniLM-L6-v2"
    assert (meta["dim"], meta["faq_count"], meta["phrasing_count"]) == (384, 3, 8)
    assert meta["normalization"] == "unit-l2" and meta["backend"] == "local"
    assert meta["source_name"] == "office.csv" and len(meta["source_sha256"]) == 64
    # the automatic threshold was estimated at build time, from the index alone, and is the one in use
    auto = meta["auto_threshold"]
    assert auto["method"] == GROUP_METHOD and auto["scoring"] == GROUPED_VERSION and auto["samples"] == 8
    assert meta["threshold"] == {"value": auto["threshold"], "source": "automatic",
                                 "method": method_words(GROUP_METHOD)}
    assert row["threshold"] == pytest.approx(auto["threshold"])
    assert meta["metadata_columns"] == ["Owner", "answr"]
    listed = run_cli(["index", "info", str(tmp_path / "office-index"), "--faqs"])
    assert listed.code == 0, listed.err
    first = json.loads(listed.out.splitlines()[0])
    assert first == {"id": "coffee", "question": "Where is the coffee machine?",
                     "alternates": ["Where can I get coffee?", "Is there an espresso machine?"], "tags": ["office"],
                     "metadata": {"Owner": "facilities", "answr": "x"}, "source": "office.csv"}
    assert len(listed.out.splitlines()) == 3

    empty = run_cli(["ask", "--index", str(tmp_path / "office-index"), ""])
    assert empty.code == 0, empty.err
    assert empty.out.splitlines()[1] == '   Ask me a question, e.g. faq-bot ask "Where is the coffee machine?"'
    assert "Medicare" not in empty.out


def test_import_seed_from_the_command_line(run_cli: Run, tmp_path: Path, local_embedder: LocalEmbedder) -> None:
    questions = [f.question for f in load_faqs(sample_source())]
    matrix = local_embedder.embed(questions)
    header = ",".join(str(i) for i in range(matrix.shape[1]))
    body = "\n".join(",".join(repr(float(v)) for v in row) for row in matrix)
    embeddings = write(tmp_path / "embeddings.csv", f"{header}\n{body}\n")
    names = write(tmp_path / "questions.txt", "\n".join(questions) + "\n")
    result = run_cli(["index", "import-seed", str(embeddings), str(names), "--out", str(tmp_path / "seed-index")])
    assert result.code == 0, result.err
    assert "13 FAQs imported" in result.out
    info = json.loads(run_cli(["index", "info", str(tmp_path / "seed-index")]).out)
    assert (info["faq_count"], info["dim"], info["backend"]) == (13, 384, "imported")

    short = write(tmp_path / "twelve.txt", "\n".join(questions[:12]))
    refused = run_cli(["index", "import-seed", str(embeddings), str(short), "--out", str(tmp_path / "bad")])
    line = assert_clean_error(refused, 2)
    assert "13 embedding rows but 12 questions" in line
    assert not (tmp_path / "bad").exists()


def test_a_malformed_source_names_file_and_line(run_cli: Run, tmp_path: Path) -> None:
    source = write(tmp_path / "broken.csv", "id,question,answer\na,One?,x\nb,,y\n")
    result = run_cli(["index", "build", str(source), "--out", str(tmp_path / "out")])
    line = assert_clean_error(result, 2)
    assert line == f"faq-bot: error: {source}:3: missing question"
    assert result.out == ""
    assert not (tmp_path / "out").exists()


def test_an_unreachable_embedding_service_is_one_line_without_the_token(run_cli: Run) -> None:
    token = "hf_very_secret_token_0001"
    url = f"http://127.0.0.1:{closed_port()}/hf-inference/models/x/pipeline/feature-extraction"
    result = run_cli(
        ["ask", "How can Medicare help me?"],
        EMBEDDING_BACKEND="hf-inference", EMBEDDING_URL=url, HF_TOKEN=token, EMBEDDING_RETRY_BUDGET="1",
    )
    line = assert_clean_error(result, 1, retries_logged=True)
    assert "unavailable" in line and "could not connect" in line
    assert token not in result.err and token not in result.out


@pytest.mark.parametrize(
    ("args", "env", "expected"),
    [
        (["ask", "--index", "someone/faq-index", "hello?"], {}, "someone/faq-index"),
        (["ask", "hello?"], {"FAQ_TOP_K": "zero"}, "FAQ_TOP_K must be a whole number from 1 to 10"),
        (["index", "info", "no/such/place/here"], {}, "no such folder 'no/such/place/here', and not a Hub dataset id"),
        (["ask", "hello?"], {"FAQ_TOP_K": "500"}, "FAQ_TOP_K must be a whole number from 1 to 10"),
        (["ask", "hello?"], {"LOG_LEVEL": "LOUD"}, "LOG_LEVEL must be one of DEBUG, INFO, WARNING, ERROR, CRITICAL"),
        (["ask", "hello?"], {"EMBEDDING_URL": "not-a-url", "EMBEDDING_BACKEND": "hf-inference"},
         "EMBEDDING_URL must be an http:// or https:// URL, got 'not-a-url'"),
        (["ask", "hello?"], {"EMBEDDING_MODEL": "BAAI/bge-base-en-v1.5", "EMBEDDING_BACKEND": "local"},
         "only sentence-transformers/all-MiniLM-L6-v2 ships with faq-bot for offline use"),
    ],
)
def test_bad_settings_and_locations_are_one_line_errors(
    run_cli: Run, args: list[str], env: dict[str, str], expected: str
) -> None:
    line = assert_clean_error(run_cli(args, **env), 2)
    assert expected in line



def test_build_never_destroys_what_out_names(run_cli: Run, tmp_path: Path) -> None:
    source = write(tmp_path / "helpdesk.csv", SOURCE)
    write(tmp_path / "some-dir" / "keep.txt", "mine\n")
    write(tmp_path / "some-dir" / "sub" / "more.txt", "mine too\n")

    def user_files() -> dict[str, bytes]:
        return {str(p): p.read_bytes() for p in [source, *(tmp_path / "some-dir").rglob("*")] if p.is_file()}

    before = user_files()
    for out, because, force in [
        ("helpdesk.csv", "would replace the FAQ source helpdesk.csv", []),
        ("helpdesk.csv", "would replace the FAQ source helpdesk.csv", ["--force"]),
        ("some-dir", "is a folder that is not an FAQ index", []),
        (".", "is the current folder or contains it", []),
        (".", "is the current folder or contains it", ["--force"]),
    ]:
        line = assert_clean_error(run_cli(["index", "build", "helpdesk.csv", "--out", out, *force]), 2)
        assert because in line and "--force" in line
        assert user_files() == before
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []  # no leftovers

    # --force never writes into a home folder, a git working tree or a device (refused before embedding)
    write(tmp_path / "home" / "ana" / ".ssh" / "id_ed25519", "key\n")
    write(tmp_path / "work" / ".git" / "HEAD", "ref: refs/heads/main\n")
    write(tmp_path / "work" / "main.py", "print()\n")
    protected_before = {str(p): p.read_bytes() for p in tmp_path.rglob("*") if p.is_file()}
    for out, because in [("home/ana", "--out home/ana is a home folder: --force never writes an index there"),
                         ("work", "--out work is a git working tree (it holds .git): --force never writes"),
                         ("/dev/null", "--out /dev/null is a device, not a folder: choose another path (--force "
                                       "never replaces it)")]:
        line = assert_clean_error(run_cli(["index", "build", "helpdesk.csv", "--out", out, "--force"],
                                          HOME=str(tmp_path / "home" / "ana")), 2)
        assert line.startswith(f"faq-bot: error: {because}"), line
    assert {str(p): p.read_bytes() for p in tmp_path.rglob("*") if p.is_file()} == protected_before

    forced = run_cli(["index", "build", "helpdesk.csv", "--out", "some-dir", "--force"])
    assert forced.code == 0, forced.err
    assert source.read_text(encoding="utf-8") == SOURCE
    after = user_files()
    assert {name: after.get(name) for name in before} == before  # every file of the folder kept, unchanged
    assert forced.err == "faq-bot: note: kept what some-dir holds besides the index: keep.txt, sub/\n"
    assert load_index(tmp_path / "some-dir").meta.faq_count == 3

    # rebuilding an index that is a git clone of its Hub dataset keeps the clone and the notes, and says so
    write(tmp_path / "some-dir" / ".git" / "HEAD", "ref: refs/heads/main\n")
    write(tmp_path / "some-dir" / "NOTES.md", "mine\n")
    rebuilt = run_cli(["index", "build", "helpdesk.csv", "--out", "some-dir"])
    assert rebuilt.code == 0, rebuilt.err
    assert rebuilt.out.startswith("wrote some-dir: 3 FAQs")
    assert rebuilt.err == "faq-bot: note: kept what some-dir holds besides the index: .git/, NOTES.md, keep.txt, sub/\n"
    assert (tmp_path / "some-dir" / ".git" / "HEAD").read_text(encoding="utf-8") == "ref: refs/heads/main\n"
    assert (tmp_path / "some-dir" / "NOTES.md").read_text(encoding="utf-8") == "mine\n"


def test_version_is_the_installed_packages(run_cli: Run) -> None:
    result = run_cli(["--version"], DATABASE_URL="postgresql://nowhere:1/x", EMBEDDING_BACKEND="no-such-backend")
    assert result.code == 0 and result.err == ""  # no settings are read to say it
    assert result.out == f"faq-bot {metadata.version('faq-bot')}\n"
