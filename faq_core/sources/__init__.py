"""FAQ sources beyond our own CSV and JSONL: HTML FAQ pages, Markdown exports,
Zendesk Guide and Intercom help-center articles, and ``.xlsx`` workbooks, from
a file or an ``http(s)://`` URL.

Every reader returns :class:`SourceRow`\\ s (:mod:`faq_core.sources.rows`
defines the shape); :func:`to_faqs` makes them :class:`~faq_core.faqs.FAQ`\\ s
through the same field rules as a CSV row. :func:`read_source` and
:func:`load_source` pick the reader (:mod:`faq_core.sources.dispatch`);
:func:`load_sources` reads several into one list, each FAQ naming its source
(:mod:`faq_core.sources.several`).

The parsers (lxml, markdown-it-py, openpyxl) are the optional extra
``sources`` and are imported only when a reader needs them, so importing this
package, or reading a CSV file through :func:`load_source`, costs nothing more.
"""

from faq_core.sources.credentials import HelpCenterAuth
from faq_core.sources.dispatch import is_url, load_source, read_source
from faq_core.sources.limits import DEFAULT_LIMITS, Limits
from faq_core.sources.rows import SourceRow, to_faqs
from faq_core.sources.several import SourceSet, load_sources, source_labels

__all__ = ["DEFAULT_LIMITS", "HelpCenterAuth", "Limits", "SourceRow", "SourceSet", "is_url", "load_source",
           "load_sources", "read_source", "source_labels", "to_faqs"]
