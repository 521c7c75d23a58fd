"""faq_core: FAQ sources, embedding backends, the index and the ranking engine.

It knows nothing of Slack: front ends call :class:`FAQEngine` and format the
:class:`Answer` it returns.
"""

from faq_core.answer import Answer, Match, Outcome
from faq_core.engine import FAQEngine, IndexInfo, build_engine

__all__ = ["Answer", "FAQEngine", "IndexInfo", "Match", "Outcome", "build_engine"]
