"""faq_core: the library. FAQ sources, embedding backends, the index, ranking,
thresholds and the engine, evaluation, Hub revisions and publishing.

It knows nothing of chat platforms, the bot's store or its command line: a
front end calls :class:`FAQEngine` and shows the :class:`Answer` it returns.

Importing the package loads nothing: the names below are attached lazily
(huggingface_hub's ``_attach`` pattern), so ``import faq_core.ranking``
costs that module and numpy, not the engine, the embedders or ``requests``.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

# The public names, by the submodule that defines them.
_SUBMODULE_ATTRS = {
    "answer": ["Answer", "Match", "Outcome"],
    "engine": ["FAQEngine", "IndexInfo", "build_engine"],
}


def _attach(package: str, submodule_attrs: dict[str, list[str]]
            ) -> tuple[Callable[[str], Any], Callable[[], list[str]], list[str]]:
    """A module ``__getattr__`` that imports a name's submodule on first use,
    its ``__dir__``, and ``__all__``."""
    owner = {attr: submodule for submodule, attrs in submodule_attrs.items() for attr in attrs}
    names = sorted(owner)

    def __getattr__(name: str) -> Any:
        if name in owner:
            return getattr(importlib.import_module(f"{package}.{owner[name]}"), name)
        raise AttributeError(f"module {package!r} has no attribute {name!r}")

    def __dir__() -> list[str]:
        return names

    return __getattr__, __dir__, names


__getattr__, __dir__, __all__ = _attach(__name__, _SUBMODULE_ATTRS)

if TYPE_CHECKING:  # what the names are, for type checkers (the imports above stay lazy at run time)
    from faq_core.answer import Answer as Answer
    from faq_core.answer import Match as Match
    from faq_core.answer import Outcome as Outcome
    from faq_core.engine import FAQEngine as FAQEngine
    from faq_core.engine import IndexInfo as IndexInfo
    from faq_core.engine import build_engine as build_engine
