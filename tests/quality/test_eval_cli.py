"""``faq-bot eval`` and ``faq-bot calibrate`` end to end with the real local
model on a tiny FAQ source: the JSON contract, calibration that only ever
looks at the calibration file, the threshold written into an index and picked
up by the engine, and clear errors for bad files."""

from __future__ import annotations

import json
import logging
import subprocess
from pathlib import Path

import pytest

from bot.cli.main import main
from faq_core.embedders import LocalEmbedder
from faq_core.engine import FAQEngine
from faq_core.evaluation import choose_threshold, load_queries, run_queries
from faq_core.faqs import load_faqs
from faq_core.index import build_index, load_index
from faq_core.scoring import GROUPED_VERSION, NEAREST_VERSION
from faq_core.threshold import with_auto_threshold
from tests.conftest import FAQ_BOT, cli_env

FAQS = [
    {"id": "reset-password", "question": "How do I reset my password?",
     "alternates": ["I forgot my password", "the password reset link does not work"]},
    {"id": "vpn", "question": "How do I connect to the VPN?",
     "alternates": ["setting up the VPN on my laptop", "I cannot reach the VPN from home"]},
    {"id": "expenses", "question": "How do I submit an expense report?",
     "alternates": ["where do I file my travel expenses", "getting reimbursed for a business trip"]},
    {"id": "vacation", "question": "How many vacation days do I have left?",
     "alternates": ["check my remaining holiday allowance", "what is my annual leave balance"]},
]
QUERIES = [
    {"text": "I can't remember my login password", "faq_id": "reset-password"},
    {"text": "the vpn won't connect when I work remotely", "faq_id": "vpn"},
    {"text": "how do I claim back money for a hotel on a work trip", "faq_id": "expenses"},
    {"text": "how much annual leave do I still have", "faq_id": "vacation"},
    {"text": "what is the best pizza topping", "faq_id": None},
    {"text": "who won the football match last night", "faq_id": None},
]
CALIBRATION = [
    {"text": "my password expired, how do I change it", "faq_id": "reset-password"},
    {"text": "vpn client keeps disconnecting", "faq_id": "vpn"},
    {"text": "expense report for a conference", "faq_id": "expenses"},
    {"text": "how many days off do I have", "faq_id": "vacation"},
    {"text": "recommend a good science fiction novel", "faq_id": None},
    {"text": "how tall is mount everest", "faq_id": None},
    {"text": "what is the weather like tomorrow", "faq_id": None},
    {"text": "can you tell me a joke", "faq_id": None},
]


class Recorder(logging.Handler):
    """Keeps the messages logged to it (the CLI's logging setup bypasses caplog)."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


def jsonl(path: Path, rows: list[dict[str, object]]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


@pytest.fixture()
def files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, Path]:
    monkeypatch.chdir(tmp_path)  # no .env of the checkout
    return {
        "faqs": jsonl(tmp_path / "faqs.jsonl", FAQS),
        "queries": jsonl(tmp_path / "queries.jsonl", QUERIES),
        "cal": jsonl(tmp_path / "cal.jsonl", CALIBRATION),
    }


def eval_json(capsys: pytest.CaptureFixture[str], *args: str) -> dict[str, object]:
    assert main(["eval", *args, "--json"]) == 0
    return dict(json.loads(capsys.readouterr().out))


def cal_threshold(faqs: Path, cal: Path, embedder: LocalEmbedder, target: float = 0.9) -> float:
    """The threshold computed here, from the calibration rows alone."""
    engine = FAQEngine(with_auto_threshold(build_index(load_faqs(faqs), embedder)), embedder)
    results = run_queries(engine, load_queries(cal))
    return choose_threshold([r.confidence for r in results], [r.correct for r in results],
                            [not r.in_scope for r in results], target)


def test_eval_json_through_the_console_script(files: dict[str, Path], tmp_path: Path,
                                              local_embedder: LocalEmbedder) -> None:
    proc = subprocess.run(
        [str(FAQ_BOT), "eval", "--faqs", str(files["faqs"]), "--queries", str(files["queries"]),
         "--calibration", str(files["cal"]), "--json"],
        capture_output=True, text=True, timeout=240, cwd=tmp_path, env=cli_env(tmp_path),
    )
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout)
    for key in ("top1_accuracy", "hit_at_3", "mrr", "oos_abstention", "answered_correct", "threshold", "queries"):
        assert key in report
    rows = report["queries"]
    assert [r["text"] for r in rows] == [q["text"] for q in QUERIES]
    assert [r["expected"] for r in rows] == [q["faq_id"] for q in QUERIES]
    for row in rows:
        assert set(row) == {"text", "expected", "predicted", "confidence", "outcome", "answered", "ambiguous",
                            "rank_of_expected"}
        assert row["answered"] == (row["confidence"] >= report["threshold"])
        assert row["outcome"] == ("answered" if row["answered"] else "card" if row["ambiguous"] else "abstained")
        if row["expected"] is None:
            assert row["rank_of_expected"] is None
    # the clear paraphrases find their FAQ; the headline figures are those of the rows
    assert [r["predicted"] for r in rows[:4]] == [q["faq_id"] for q in QUERIES[:4]]
    inside = [r for r in rows if r["expected"] is not None]
    outside = [r for r in rows if r["expected"] is None]
    assert report["top1_accuracy"] == pytest.approx(sum(r["rank_of_expected"] == 1 for r in inside) / len(inside))
    assert report["mrr"] == pytest.approx(sum(1 / r["rank_of_expected"] for r in inside if r["rank_of_expected"])
                                          / len(inside))
    # a "one of these?" card is its own outcome: not answering, and not abstaining either
    assert report["oos_abstention"] == pytest.approx(sum(r["outcome"] == "abstained" for r in outside) / len(outside))
    assert report["answered_correct"] == pytest.approx(
        sum(r["answered"] and r["rank_of_expected"] == 1 for r in inside) / len(inside))
    assert report["threshold"] == pytest.approx(cal_threshold(files["faqs"], files["cal"], local_embedder), abs=1e-6)
    assert report["calibration"]["abstention"] >= 0.9


def test_calibration_never_looks_at_the_queries(files: dict[str, Path], tmp_path: Path,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    # an "out-of-scope" query that is a stored phrasing would force a very high
    # threshold if the queries took part in calibration
    traps = jsonl(tmp_path / "traps.jsonl", [*QUERIES, {"text": "I forgot my password", "faq_id": None},
                                             {"text": "How do I connect to the VPN?", "faq_id": None}])
    common = ["--faqs", str(files["faqs"]), "--calibration", str(files["cal"])]
    plain = eval_json(capsys, *common, "--queries", str(files["queries"]))
    trapped = eval_json(capsys, *common, "--queries", str(traps))
    assert trapped["threshold"] == plain["threshold"]
    trap_rows = trapped["queries"][-2:]  # type: ignore[index]
    assert all(row["answered"] and row["confidence"] > 0.75 for row in trap_rows)
    assert trapped["oos_abstention"] < plain["oos_abstention"]  # type: ignore[operator]


def test_eval_without_calibration_uses_the_configured_threshold(
    files: dict[str, Path], capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    report = eval_json(capsys, "--faqs", str(files["faqs"]), "--queries", str(files["queries"]))
    assert report["threshold_source"] == "automatic" and report["calibration"] is None
    assert 0 < report["threshold"] < 1  # estimated from the FAQs built on the spot
    monkeypatch.setenv("FAQ_MIN_SCORE", "0.99")
    strict = eval_json(capsys, "--faqs", str(files["faqs"]), "--queries", str(files["queries"]))
    assert strict["threshold"] == pytest.approx(0.99) and strict["threshold_source"] == "FAQ_MIN_SCORE"
    assert strict["oos_abstention"] == 1.0 and strict["answered_correct"] == 0.0


def test_eval_prints_a_readable_summary(files: dict[str, Path], capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["eval", "--faqs", str(files["faqs"]), "--queries", str(files["queries"]),
                 "--calibration", str(files["cal"]), "--scoring", "nearest"]) == 0
    out = capsys.readouterr().out
    assert "4 FAQs, 12 phrasings), scoring nearest" in out
    assert "(4 in scope, 2 out of scope)" in out
    assert "calibrated on cal.jsonl" in out
    assert "top-1 accuracy        1.000" in out


def test_calibrate_writes_the_threshold_the_engine_then_uses(
    files: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str],
    local_embedder: LocalEmbedder
) -> None:
    folder = tmp_path / "index"
    assert main(["index", "build", str(files["faqs"]), "--out", str(folder)]) == 0
    assert main(["calibrate", str(folder), "--calibration", str(files["cal"]), "--target-abstention", "0.75"]) == 0
    assert "wrote threshold" in capsys.readouterr().out
    meta = load_index(folder).meta
    expected = cal_threshold(files["faqs"], files["cal"], local_embedder, 0.75)
    assert meta.min_score == pytest.approx(expected, abs=1e-6)
    assert meta.calibration["scoring"] == GROUPED_VERSION
    assert meta.calibration["target_abstention"] == 0.75 and meta.calibration["abstention"] >= 0.75
    assert meta.calibration["calibration_file"] == "cal.jsonl"
    engine = FAQEngine(load_index(folder), local_embedder)
    assert engine.threshold == pytest.approx(meta.min_score)
    answer = engine.answer("I can't remember my login password")
    assert answer.threshold == pytest.approx(meta.min_score)
    assert answer.answered == (answer.confidence >= meta.min_score)
    # eval on the calibrated index folder reports the stored threshold
    report = eval_json(capsys, "--faqs", str(folder), "--queries", str(files["queries"]))
    assert report["threshold"] == pytest.approx(meta.min_score)

    # a threshold calibrated for the other confidence function is not reused silently
    assert main(["calibrate", str(folder), "--calibration", str(files["cal"]), "--scoring", "nearest"]) == 0
    assert load_index(folder).meta.calibration["scoring"] == NEAREST_VERSION
    warnings = Recorder()
    logging.getLogger("faq_core.threshold").addHandler(warnings)
    try:
        blend = FAQEngine(load_index(folder), local_embedder)
    finally:
        logging.getLogger("faq_core.threshold").removeHandler(warnings)
    assert blend.threshold == pytest.approx(load_index(folder).meta.auto_threshold["threshold"])
    assert blend.threshold_source == "automatic"
    assert any("calibrated for nearest-v1" in m and "recalibrate" in m for m in warnings.messages)
    nearest = FAQEngine(load_index(folder), local_embedder, scoring="nearest")
    assert nearest.threshold == pytest.approx(load_index(folder).meta.min_score)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ('{"text": "a", "faq_id": "vpn"}\n{"text": "b", "faq_id": \n', "queries.jsonl:2: invalid JSON"),
        ('{"text": "a", "faq_id": "vpn"}\n\n{"text": "b", "faq_id": "printer"}\n',
         "queries.jsonl:3: faq_id 'printer' is not an FAQ of the index"),
        ('{"text": "a"}\n', "queries.jsonl:1: missing faq_id (use null for an out-of-scope question)"),
    ],
)
def test_bad_query_files_get_one_clear_line(files: dict[str, Path], capsys: pytest.CaptureFixture[str],
                                            content: str, message: str) -> None:
    files["queries"].write_text(content, encoding="utf-8")
    assert main(["eval", "--faqs", str(files["faqs"]), "--queries", str(files["queries"])]) == 2
    err = capsys.readouterr().err
    assert err.startswith("faq-bot: error: ") and message in err
    assert "Traceback" not in err


def test_bad_calibration_arguments(files: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["calibrate", str(tmp_path / "nowhere"), "--calibration", str(files["cal"])]) == 2
    assert "not a local index folder" in capsys.readouterr().err
    args = ["eval", "--faqs", str(files["faqs"]), "--queries", str(files["queries"])]
    assert main([*args, "--calibration", str(files["cal"]), "--target-abstention", "1.5"]) == 2
    assert "between 0 and 1" in capsys.readouterr().err
    assert main([*args, "--calibration", str(files["queries"]).replace("queries", "absent")]) == 2
    assert "absent.jsonl: file not found" in capsys.readouterr().err
    in_scope_only = jsonl(tmp_path / "inscope.jsonl", CALIBRATION[:4])
    assert main([*args, "--calibration", str(in_scope_only)]) == 2
    assert "no out-of-scope rows" in capsys.readouterr().err


def test_eval_says_where_its_threshold_came_from(
    files: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    args = ["eval", "--faqs", str(files["faqs"]), "--queries", str(files["queries"])]
    assert main(args) == 0
    assert "(automatic: estimated from the FAQs' own phrasings, no labels)" in capsys.readouterr().out
    monkeypatch.setenv("FAQ_MIN_SCORE", "0.5")
    assert main(args) == 0
    assert "threshold: 0.5000 (from FAQ_MIN_SCORE)" in capsys.readouterr().out
    monkeypatch.delenv("FAQ_MIN_SCORE")
    folder = tmp_path / "index"
    assert main(["index", "build", str(files["faqs"]), "--out", str(folder)]) == 0
    assert main(["calibrate", str(folder), "--calibration", str(files["cal"])]) == 0
    capsys.readouterr()
    assert main(["eval", "--faqs", str(folder), "--queries", str(files["queries"])]) == 0
    assert "(the labelled calibration stored in the index)" in capsys.readouterr().out


def test_calibrate_without_labels_stores_the_automatic_threshold_again(
    files: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = tmp_path / "index"
    assert main(["index", "build", str(files["faqs"]), "--out", str(folder)]) == 0
    built = load_index(folder).meta.auto_threshold
    assert main(["calibrate", str(folder), "--calibration", str(files["cal"])]) == 0
    assert load_index(folder).meta.min_score is not None
    capsys.readouterr()
    assert main(["calibrate", str(folder)]) == 0
    assert "wrote automatic threshold" in capsys.readouterr().out
    meta = load_index(folder).meta
    assert meta.min_score is None and meta.calibration == {}  # the labelled threshold no longer outranks it
    assert meta.auto_threshold["threshold"] == pytest.approx(built["threshold"])
    assert meta.auto_threshold["scoring"] == GROUPED_VERSION


def test_calibrating_a_read_only_index_is_one_line_saying_what_to_do(
    files: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from tests.core.test_index_folder import refuse_writes, tree

    folder = tmp_path / "index"
    assert main(["index", "build", str(files["faqs"]), "--out", str(folder)]) == 0
    capsys.readouterr()
    before = tree(folder)
    refuse_writes(folder, monkeypatch)
    try:
        code = main(["calibrate", str(folder), "--calibration", str(files["cal"])])
    finally:
        folder.chmod(0o755)
    assert code == 2
    assert capsys.readouterr().err == (
        f"faq-bot: error: cannot write {folder}/faq_index.json: Permission denied (the index is unchanged). The "
        f"folder must be writable: fix its permissions, or copy it (cp -r {folder} NEW) and run the command on "
        "the copy\n")
    assert tree(folder) == before
