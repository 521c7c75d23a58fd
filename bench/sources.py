"""Reading a 5,000-question FAQ from each kind of source, against a CSV of the same FAQs.

The readers should never be what a team waits for: embedding 5,000 questions
takes tens of seconds, so a reader that takes a second is fine and one that
takes a minute is not. Printed: the best of a few reads of each file (the
whole path from bytes to validated FAQ rows, through ``faq_core.sources.load_source``),
its size, and the time as a multiple of ``load_faqs`` on the CSV; then a page
and an export read together into one list (``load_sources``, what
``index build a.html b.json`` does) against the two read alone. The files are
generated here (an invented product's FAQ, answers with paragraphs, a list and
a link), so the numbers are reproducible anywhere.
"""

from __future__ import annotations

import csv
import html
import json
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from faq_core.faqs import load_faqs
from faq_core.sources import load_source, load_sources

COUNT = 5_000
ROUNDS = 3


def _faq(n: int) -> tuple[str, str, str]:
    """(anchor, question, answer as HTML) of FAQ number ``n``."""
    question = f"How do I set up feature {n} for my team in Quillpad?"
    answer = (f"<p>Open <strong>Settings › Features</strong> and choose feature {n}.</p>"
              f"<ul><li>Pick who can use it.</li><li>Save &amp; share the link.</li></ul>"
              f"<p>See <a href=\"/docs/features/{n}\">the guide for feature {n}</a> for details.</p>")
    return f"feature-{n}", question, answer


def _write_all(folder: Path) -> dict[str, Path]:
    faqs = [_faq(n) for n in range(COUNT)]
    files = {}
    files["csv"] = folder / "faqs.csv"
    with files["csv"].open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["id", "question", "answer", "url"])
        for anchor, question, _ in faqs:
            text = f"Open Settings › Features and choose {question[21:31]}. Pick who can use it. Save & share."
            writer.writerow([anchor, question, text, f"https://www.quillpad.example/faq#{anchor}"])
    head = '<!doctype html><html><head><meta charset="utf-8"><link rel="canonical" ' \
           'href="https://www.quillpad.example/faq"></head><body><main>'
    ld = {"@context": "https://schema.org", "@type": "FAQPage", "mainEntity": [
        {"@type": "Question", "name": q, "url": f"https://www.quillpad.example/faq#{a}",
         "acceptedAnswer": {"@type": "Answer", "text": t}} for a, q, t in faqs]}
    files["html (JSON-LD)"] = _text(folder / "jsonld.html", head.replace(
        "</head>", f'<script type="application/ld+json">{json.dumps(ld)}</script></head>') + "</main></body></html>")
    files["html (details)"] = _text(folder / "details.html", head + "".join(
        f'<details id="{a}"><summary>{html.escape(q)}</summary>{t}</details>' for a, q, t in faqs)
        + "</main></body></html>")
    files["html (headings)"] = _text(folder / "headings.html", head + "".join(
        f'<h3 id="{a}">{html.escape(q)}</h3>{t}' for a, q, t in faqs) + "</main></body></html>")
    files["markdown"] = _text(folder / "faq.md", "# Quillpad FAQ\n\n" + "".join(
        f"## {q} {{#{a}}}\n\nOpen **Settings › Features** and choose feature {a[8:]}.\n\n- Pick who can use it.\n"
        f"- Save & share the link.\n\nSee [the guide](https://www.quillpad.example/docs/{a}) for details.\n\n"
        for a, q, _ in faqs))
    files["zendesk export"] = _text(folder / "zendesk.json", json.dumps({"articles": [
        {"id": 4_400_000_000 + n, "title": q, "body": t, "draft": False, "locale": "en-us", "label_names": ["setup"],
         "html_url": f"https://quillpad.zendesk.com/hc/en-us/articles/{4_400_000_000 + n}", "section_id": 1}
        for n, (_, q, t) in enumerate(faqs)], "next_page": None}))
    try:
        import openpyxl
    except ImportError:
        return files
    book = openpyxl.Workbook(write_only=True)
    sheet = book.create_sheet("FAQ")
    with files["csv"].open(encoding="utf-8", newline="") as handle:
        for row in csv.reader(handle):
            sheet.append(row)
    files["xlsx"] = folder / "faqs.xlsx"
    book.save(files["xlsx"])
    return files


def _text(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def _best(read: Callable[[], object]) -> float:
    best = float("inf")
    for _ in range(ROUNDS):
        start = time.perf_counter()
        read()
        best = min(best, time.perf_counter() - start)
    return best


def run() -> None:
    """Print the read time of each kind of source against the CSV of the same FAQs."""
    print(f"\n## bench.sources: reading {COUNT:,} FAQs from each kind of source (best of {ROUNDS})")
    with tempfile.TemporaryDirectory() as folder:
        files = _write_all(Path(folder))
        baseline = _best(lambda: load_faqs(files["csv"]))
        print("| source | size | FAQs | seconds | x CSV |")
        print("|---|---|---|---|---|")
        print(f"| csv (load_faqs, baseline) | {files['csv'].stat().st_size / 1e6:.1f} MB | {COUNT:,} | "
              f"{baseline:.3f} | 1.0x |")
        for name, path in files.items():
            if name == "csv":
                continue
            count = len(load_source(path))
            took = _best(lambda path=path: load_source(path))  # type: ignore[misc]
            print(f"| {name} | {path.stat().st_size / 1e6:.1f} MB | {count:,} | {took:.3f} | {took / baseline:.1f}x |")
        # Several sources in one index read each one as above, then check ids across them and label each FAQ:
        # the combined read should cost the sum of its parts (ids differ: page anchors, Zendesk article ids).
        pair = [files["html (JSON-LD)"], files["zendesk export"]]
        parts = sum(_best(lambda path=path: load_source(path)) for path in pair)  # type: ignore[misc]
        together = _best(lambda: load_sources(pair))
        print(f"| html (JSON-LD) + zendesk export in one load_sources | - | {len(load_sources(pair).faqs):,} | "
              f"{together:.3f} | {together / baseline:.1f}x ({together / parts:.2f}x the two read alone) |")
