"""HTML to clean answer text: lines, lists, links, tables, <pre>, dropped
elements, entities, and no recursion however deep the tree."""

from __future__ import annotations

import pytest
from lxml import etree

from faq_core.sources.dom import parse_fragment
from faq_core.sources.text import fragment_text, html_to_text


def text(html: str, base_url: str | None = "https://help.quillpad.example/faq") -> str:
    return html_to_text(parse_fragment(html, "answer"), base_url=base_url)


@pytest.mark.parametrize(("html", "expected"), [
    ("<p>One</p><p>Two</p>", "One\nTwo"),
    ("Line one<br>line two<br/><br>three", "Line one\nline two\nthree"),
    ("<ul><li>a</li><li>b <ul><li>c</li></ul></li></ul>", "- a\n- b\n- c"),
    ('<ol start="3"><li>x</li><li>y</li></ol><ol><li>z</li></ol>', "3. x\n4. y\n1. z"),
    ("<table><tr><th>Plan</th><th>Price</th></tr><tr><td>Team</td><td>6 €</td></tr></table>",
     "Plan | Price\nTeam | 6 €"),
    ("<p>Tom &amp; Jerry&#39;s &lt;tag&gt; &nbsp;and&nbsp;&nbsp;more &eacute;</p>", "Tom & Jerry's <tag> and more é"),
    ("<p>  lots \n\n of\t space  </p>", "lots of space"),
    ("<pre>\n  indented\n    more\n\nafter gap\n</pre><p>next</p>", "  indented\n    more\n\nafter gap\nnext"),
    ("<p>a<script>alert(1)</script><style>p{}</style>b</p><template><p>t</p></template><noscript>n</noscript>",
     "ab"),
    ("<p>x<button>Click</button><select><option>o</option></select><svg><text>s</text></svg></p>", "x"),
    ("<p>Hello <!-- hidden comment -->world</p>", "Hello world"),
])
def test_structure_becomes_lines(html: str, expected: str) -> None:
    assert text(html) == expected


@pytest.mark.parametrize(("html", "expected"), [
    ('<a href="/docs/offline">offline mode</a>', "offline mode (https://help.quillpad.example/docs/offline)"),
    ('<a href="https://status.quillpad.example/">https://status.quillpad.example</a>', "https://status.quillpad.example"),
    ('<a href="#reset">see above</a>', "see above (https://help.quillpad.example/faq#reset)"),
    ('<a href="mailto:help@quillpad.example">help@quillpad.example</a>', "help@quillpad.example"),
    ('<a href="mailto:help@quillpad.example">write to us</a>', "write to us (mailto:help@quillpad.example)"),
    ('<a href="javascript:alert(1)">click</a>', "click"),
    ('<a href=" JavaScript:alert(1)">click</a>', "click"),
    ('<a href="data:text/html,x">data</a>', "data"),
    ('<a href="https://x.example/a"><img src="i.png"></a>', "https://x.example/a"),
    ("<a>no target</a>", "no target"),
])
def test_links_keep_their_text_and_target(html: str, expected: str) -> None:
    assert text(html) == expected


def test_without_a_base_url_relative_links_keep_their_text_only() -> None:
    assert text('<a href="/x">the page</a> and <a href="https://a.example/">a</a>', base_url=None) == (
        "the page and a (https://a.example/)")


def test_links_can_be_left_out_for_question_text() -> None:
    root = parse_fragment('How do I use <a href="/x">sync</a>?', "q")
    assert html_to_text(root, base_url="https://h.example/", links=False) == "How do I use sync?"


def test_plain_text_keeps_its_lines_and_decodes_entities() -> None:
    assert fragment_text("Free for 3 members.\n  Team: 6 &euro; a month.  \n\n", "ld") == (
        "Free for 3 members.\nTeam: 6 € a month.")


def test_a_tree_of_any_depth_converts_without_recursion() -> None:
    # Ten times Python's recursion limit (the parser refuses pages nested past 256: see test_sources_limits).
    root = etree.Element("div")
    node = root
    for depth in range(10_000):
        node = etree.SubElement(node, "div" if depth % 2 else "span")
        node.text = "x" if depth % 1_000 == 0 else None
    node.text = "deepest"
    assert html_to_text(root).endswith("deepest")
