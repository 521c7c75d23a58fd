"""``make bench``: run every benchmark module present, in order.

Each module has ``run() -> None`` that prints its own section. A module that
is missing (a capability not built yet) is skipped with a note.
``bench.load`` holds what ``bench.bot`` and ``bench.burst`` measure, side by
side on both local backends; those two still run by name (``python -m bench bot``).
"""

from __future__ import annotations

import importlib
import sys
import time

MODULES = ["bench.ranking", "bench.embedding", "bench.startup", "bench.scoring", "bench.threshold", "bench.scale",
           "bench.install_size", "bench.load", "bench.text", "bench.reload", "bench.review_loop",
           "bench.review_slack", "bench.discord", "bench.replicas", "bench.sources", "bench.routing"]


def main(argv: list[str]) -> int:
    """Run the modules named in ``argv`` (default: all)."""
    wanted = [f"bench.{name}" for name in argv] or MODULES
    for name in wanted:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as error:
            if error.name == name:
                print(f"\n## {name}: not present, skipped")
                continue
            raise
        start = time.perf_counter()
        module.run()
        print(f"({name} took {time.perf_counter() - start:.0f}s)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
