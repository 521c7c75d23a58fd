from pathlib import Path

from faq_core.hub import head_commit, push_folder
from faq_core.index import load_index
from tests.stubs.hub_api import WRITE_TOKEN


def test_try(hub, sample_index_dir: Path):
    pushed = push_folder(sample_index_dir, "acme/faq", token=WRITE_TOKEN, endpoint=hub.origin, message="first")
    print(pushed, [ (r.method, r.path) for r in hub.requests])
    assert head_commit("acme/faq", endpoint=hub.origin) == pushed.commit
    index = load_index("acme/faq", pushed.commit, endpoint=hub.origin)
    assert len(index.faqs) == 13
    pr = push_folder(sample_index_dir, "acme/faq", token=WRITE_TOKEN, endpoint=hub.origin, message="pr", create_pr=True)
    print(pr)
