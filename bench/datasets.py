"""BANKING77 and CLINC150 turned into FAQ sources and query files.

Each intent becomes one FAQ whose phrasings are the first K rows of that
intent in ``train`` after a seeded shuffle (K = 1, 5, 10; the smaller sets are
prefixes of the larger, so the runs differ only in K). Rows that are not
phrasings can serve as held-out questions drawn from ``train``:

- ``banking77-test``: the 3,080 test questions (reported, never tuned on).
- ``banking77-dev``: 10 further train rows per intent (for choosing scoring
  parameters).
- ``clinc150-val``: ``val`` plus ``oos_val`` (reported, never tuned on).
- ``clinc150-cal``: 10 further train rows per intent plus ``oos_train``
  (calibrates the threshold; also used for choosing scoring parameters).

Everything is written as JSONL under ``bench/.work/data`` (git-ignored):
FAQ sources in the format ``faq-bot index build`` reads, query files as rows
``{"text": ..., "faq_id": ... | null}``.
"""

from __future__ import annotations

import csv
import json
import os
import sys
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from faq_core.evaluation import LabelledQuery
from faq_core.faqs import FAQ

WORK = Path(__file__).resolve().parent / ".work"
KS = (1, 5, 10)
MAX_K = max(KS)
HELD_OUT = 10  # train rows per intent kept out of the phrasings as tuning / calibration questions
SEED = 0
UNSEEN_SHARE = 0.2  # intents held out of the FAQ source in the unseen-FAQ protocol


DATA_FILES = ("banking77/train.csv", "banking77/test.csv", "clinc150/dev.json")


class MissingDataError(FileNotFoundError):
    """The benchmark data is not where ``FAQ_EVAL_DATA`` (or the default) says."""


def data_root() -> Path:
    """``FAQ_EVAL_DATA``, or ``../shared/data`` beside the checkout."""
    configured = os.environ.get("FAQ_EVAL_DATA")
    return Path(configured) if configured else Path(__file__).resolve().parents[2] / "shared" / "data"


def require_data(root: Path | None = None, files: Iterable[str] = DATA_FILES) -> Path:
    """The data folder, after checking it holds ``files`` (default: every
    file the benchmarks read).

    The data is not part of the repository (its licences ask for attribution,
    and it is large), so a fresh clone gets one sentence saying where it comes
    from and how to point at it, instead of a ``FileNotFoundError``.
    """
    root = root or data_root()
    missing = [name for name in files if not (root / name).is_file()]
    if missing:
        raise MissingDataError(
            f"the benchmark data is not in {root} (missing {', '.join(missing)}). It is not part of the "
            "repository: get BANKING77's banking_data/train.csv and test.csv from "
            "https://github.com/PolyAI-LDN/task-specific-datasets into banking77/, and CLINC150's "
            "data/data_full.json from https://github.com/clinc/oos-eval saved as clinc150/dev.json, "
            "then set FAQ_EVAL_DATA to the folder holding banking77/ and clinc150/"
        )
    return root


@dataclass(frozen=True)
class Benchmark:
    """Phrasings per intent (first MAX_K after the shuffle) and named query sets."""

    name: str
    phrasings: dict[str, list[str]]
    queries: dict[str, list[LabelledQuery]]

    def faq_rows(self, k: int) -> list[dict[str, object]]:
        """FAQ source rows with ``k`` phrasings per intent."""
        rows: list[dict[str, object]] = []
        for intent, texts in self.phrasings.items():
            first, *rest = texts[:k]
            rows.append({"id": intent, "question": first, "alternates": rest,
                         "answer": f"(answer for {intent.replace('_', ' ')})"})
        return rows


def unseen_faqs(bench: Benchmark, seed: int, share: float = UNSEEN_SHARE) -> Benchmark:
    """The unseen-FAQ protocol: ``share`` of the intents (seeded) are removed
    from the FAQ source and every question of theirs becomes out of scope,
    alongside the dataset's own out-of-scope rows. A question whose FAQ does
    not exist is the hard case of abstention: it is on the FAQ's topic."""
    intents = sorted(bench.phrasings)
    rng = np.random.default_rng(seed)
    held = {intents[int(i)] for i in rng.choice(len(intents), size=round(share * len(intents)), replace=False)}
    return Benchmark(
        f"{bench.name}-unseen",
        {i: t for i, t in bench.phrasings.items() if i not in held},
        {name: [LabelledQuery(q.text, None if q.faq_id in held else q.faq_id) for q in queries]
         for name, queries in bench.queries.items()},
    )


def faqs_of(bench: Benchmark, k: int) -> list[FAQ]:
    """The benchmark's FAQ source with ``k`` phrasings per intent, as FAQ rows."""
    return [
        FAQ(id=str(row["id"]), question=str(row["question"]), answer=str(row["answer"]),
            alternates=tuple(dict.fromkeys(row["alternates"])))  # type: ignore[call-overload]
        for row in bench.faq_rows(k)
    ]


def _split_by_intent(pairs: Iterable[tuple[str, str]], seed: int) -> dict[str, list[str]]:
    """Shuffle (seeded), then group texts by intent keeping the shuffled order."""
    items = list(pairs)
    order = np.random.default_rng(seed).permutation(len(items))
    grouped: dict[str, list[str]] = {}
    for i in order:
        text, intent = items[int(i)]
        grouped.setdefault(intent, []).append(" ".join(text.split()))
    return dict(sorted(grouped.items()))


def _held_out(grouped: dict[str, list[str]]) -> list[LabelledQuery]:
    return [LabelledQuery(t, intent) for intent, texts in grouped.items() for t in texts[MAX_K:MAX_K + HELD_OUT]]


def banking77(root: Path | None = None, seed: int = SEED) -> Benchmark:
    """BANKING77: phrasings and dev questions from train; test questions."""
    folder = require_data(root, DATA_FILES[:2]) / "banking77"
    train = _read_csv(folder / "train.csv")
    grouped = _split_by_intent(train, seed)
    test = [LabelledQuery(" ".join(t.split()), c) for t, c in _read_csv(folder / "test.csv")]
    return Benchmark("banking77", {i: t[:MAX_K] for i, t in grouped.items()},
                     {"test": test, "dev": _held_out(grouped)})


def clinc150(root: Path | None = None, seed: int = SEED) -> Benchmark:
    """CLINC150: phrasings and calibration rows from train/oos_train; val + oos_val."""
    data = json.loads((require_data(root, DATA_FILES[2:]) / "clinc150" / "dev.json").read_text(encoding="utf-8"))
    grouped = _split_by_intent(((t, i) for t, i in data["train"]), seed)
    oos_train = [LabelledQuery(" ".join(t.split()), None) for t, _ in data["oos_train"]]
    val = [LabelledQuery(" ".join(t.split()), i) for t, i in data["val"]]
    val += [LabelledQuery(" ".join(t.split()), None) for t, _ in data["oos_val"]]
    return Benchmark("clinc150", {i: t[:MAX_K] for i, t in grouped.items()},
                     {"val": val, "cal": _held_out(grouped) + oos_train})


def _read_csv(path: Path) -> list[tuple[str, str]]:
    with path.open(newline="", encoding="utf-8") as handle:
        return [(row["text"], row["category"]) for row in csv.DictReader(handle)]


def write_jsonl(path: Path, rows: Iterable[dict[str, object]]) -> Path:
    """Write rows as JSON lines (UTF-8), creating the folder."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8") as handle:
        for row in rows:
            handle.write(json.dumps(row, ensure_ascii=False) + "\n")
    return path


def write_files(bench: Benchmark, folder: Path = WORK / "data") -> dict[str, Path]:
    """FAQ sources ``<name>-k<K>.jsonl`` and query files ``<name>-<set>.jsonl``."""
    paths: dict[str, Path] = {}
    for k in KS:
        paths[f"k{k}"] = write_jsonl(folder / f"{bench.name}-k{k}.jsonl", bench.faq_rows(k))
    for set_name, queries in bench.queries.items():
        paths[set_name] = write_jsonl(folder / f"{bench.name}-{set_name}.jsonl",
                                      ({"text": q.text, "faq_id": q.faq_id} for q in queries))
    return paths


def main() -> None:
    """``python -m bench.datasets``: write the files and say where."""
    exit_if_no_data()
    for bench in (banking77(), clinc150()):
        for name, path in write_files(bench).items():
            print(f"{bench.name} {name}: {path}")


def exit_if_no_data() -> None:
    """For the benchmark entry points: a missing data folder ends the run
    with one ``bench: error: ...`` line and exit status 2."""
    try:
        require_data()
    except MissingDataError as error:
        print(f"bench: error: {error}", file=sys.stderr)
        raise SystemExit(2) from None


if __name__ == "__main__":
    main()
