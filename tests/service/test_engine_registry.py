"""Many indexes in one process: engines loaded on first use and shared
through one embedder, one load however many questions arrive together, the
least recently used evicted under the memory budget, a broken index refused
without loading it again at every question; and the Answerer answering each
question from its place's index (or saying no FAQ is set up there)."""

from __future__ import annotations

import shutil
import threading
from collections import Counter
from pathlib import Path

import pytest
import requests

from bot import messages
from bot.conversation.answering import UNROUTED, Answered, Answerer, Asked
from bot.conversation.replies import Kind
from bot.conversation.routing import Routing, start_routing
from bot.ops.http import start_ops_server
from bot.ops.metrics import Metrics
from bot.ops.readiness import Readiness, indexes_detail
from bot.serving.holder import ServingEngine
from bot.serving.hub_webhook import WEBHOOK_PATH, webhook_route_for
from bot.serving.refs import IndexRef
from bot.serving.registry import EngineRegistry, engine_bytes, index_loader
from bot.serving.reload import Check
from bot.settings import BotSettings
from bot.store.database import Store
from bot.store.routes import RouteTable
from faq_core.embedders import LocalEmbedder
from faq_core.engine import FAQEngine
from faq_core.errors import IndexLoadError
from faq_core.index import load_index, save_index
from tests.faq_sources import TEAM_MARK, TEAM_QUESTION


class CountingLoader:
    """Loads the sample index for any reference, counting loads per reference;
    with ``gate``, each load waits for it (so questions pile up meanwhile)."""

    def __init__(self, folder: Path, embedder: LocalEmbedder, gate: threading.Event | None = None) -> None:
        self.folder, self.embedder, self.gate = folder, embedder, gate
        self.loads: Counter[str] = Counter()
        self.entered = threading.Event()
        self.fail: set[str] = set()

    def __call__(self, ref: IndexRef) -> FAQEngine:
        self.loads[str(ref)] += 1
        self.entered.set()
        if self.gate is not None:
            assert self.gate.wait(60)
        if str(ref) in self.fail:
            raise IndexLoadError(f"cannot load the FAQ index {ref}: broken")
        return FAQEngine(load_index(self.folder), self.embedder)


def test_a_burst_of_questions_for_an_index_not_loaded_loads_it_once(
        sample_index_dir: Path, local_embedder: LocalEmbedder) -> None:
    gate = threading.Event()
    loader = CountingLoader(sample_index_dir, local_embedder, gate)
    registry = EngineRegistry(loader, budget_bytes=10**9)
    started, got = threading.Semaphore(0), []

    def ask() -> None:
        started.release()
        got.append(registry.get("acme/it-faq"))

    threads = [threading.Thread(target=ask) for _ in range(100)]
    for thread in threads:
        thread.start()
    for _ in threads:
        assert started.acquire(timeout=60)
    assert loader.entered.wait(60)
    assert [s.state for s in registry.states()] == ["loading"]
    gate.set()
    for thread in threads:
        thread.join(60)
    assert loader.loads == Counter({"acme/it-faq": 1})
    assert len(got) == 100 and all(serving is got[0] for serving in got)
    assert registry.counts.loads == 1


def test_the_least_recently_used_index_is_evicted_to_stay_within_the_budget(
        sample_index_dir: Path, local_embedder: LocalEmbedder) -> None:
    loader = CountingLoader(sample_index_dir, local_embedder)
    size = engine_bytes(FAQEngine(load_index(sample_index_dir), local_embedder))
    registry = EngineRegistry(loader, budget_bytes=int(size * 2.5))
    evicted: list[str] = []
    registry.evicted.append(lambda ref, _serving: evicted.append(ref))
    a = registry.get("a/one")
    registry.get("b/two")
    assert registry.get("a/one") is a  # used again: b is now the least recently used
    registry.get("c/three")
    assert evicted == ["b/two"]
    assert [s.ref for s in registry.states()] == ["c/three", "a/one"]
    assert registry.loaded_bytes() <= registry.budget_bytes
    registry.get("b/two")  # a question for the evicted index loads it again (and evicts a)
    assert loader.loads == Counter({"a/one": 1, "b/two": 2, "c/three": 1})
    assert evicted == ["b/two", "a/one"]
    assert (registry.counts.loads, registry.counts.evictions) == (4, 2)


def test_the_deployments_engine_and_the_one_just_loaded_are_never_evicted(
        sample_index_dir: Path, local_embedder: LocalEmbedder, engine: FAQEngine) -> None:
    loader = CountingLoader(sample_index_dir, local_embedder)
    registry = EngineRegistry(loader, budget_bytes=1)  # nothing fits
    deployment = ServingEngine(engine)
    registry.keep("acme/everyone", deployment)
    assert registry.get("acme/everyone") is deployment and not loader.loads
    registry.get("a/one")
    registry.get("b/two")
    assert [s.ref for s in registry.states()] == ["b/two", "acme/everyone"]


def test_an_index_that_cannot_be_loaded_is_refused_without_loading_it_at_every_question(
        sample_index_dir: Path, local_embedder: LocalEmbedder) -> None:
    now = [0.0]
    loader = CountingLoader(sample_index_dir, local_embedder)
    loader.fail.add("acme/broken")
    registry = EngineRegistry(loader, budget_bytes=10**9, retry_seconds=30, clock=lambda: now[0])
    for _ in range(3):
        with pytest.raises(IndexLoadError, match="broken"):
            registry.get("acme/broken")
    assert loader.loads["acme/broken"] == 1
    assert [(s.state, s.error) for s in registry.states()] == [("failed", "cannot load the FAQ index acme/broken: "
                                                                          "broken")]
    loader.fail.clear()  # fixed; tried again once the pause is over
    now[0] = 31.0
    assert registry.get("acme/broken") is not None
    assert loader.loads["acme/broken"] == 2 and registry.counts.failures == 1


def test_index_loader_loads_a_folder_over_the_shared_embedder(team_indexes: dict[str, Path],
                                                              local_embedder: LocalEmbedder) -> None:
    load = index_loader(BotSettings(), local_embedder)
    engine = load(IndexRef(str(team_indexes["hr"])))
    assert engine.embedder is local_embedder
    assert engine.answer(TEAM_QUESTION["hr"]).best.faq_id == "hr-leave"  # type: ignore[union-attr]


def _routed_answerer(store: Store, team_indexes: dict[str, Path], local_embedder: LocalEmbedder,
                     engine: FAQEngine, fallback: str | None = None) -> tuple[Answerer, RouteTable, list[Answered]]:
    settings = BotSettings(faq_index=fallback)
    registry = EngineRegistry(index_loader(settings, local_embedder), budget_bytes=10**9)
    routing = start_routing(settings, ServingEngine(engine), RouteTable(store), registry)
    seen: list[Answered] = []
    return Answerer(routing.deployment or engine, routing=routing, observers=[seen.append]), routing.table, seen


def test_the_answerer_answers_each_place_from_its_own_index(
        store: Store, team_indexes: dict[str, Path], local_embedder: LocalEmbedder, engine: FAQEngine) -> None:
    answerer, table, seen = _routed_answerer(store, team_indexes, local_embedder, engine)
    # no routes at all: one FAQ, as before (here the deployment's engine, the sample)
    alone = answerer.reply("How can Medicare help me?", bot_user_id="B1",
                           asked=Asked("slack", "channel", "T1", "CIT"))
    assert alone.kind == Kind.ANSWER
    table.set("slack", "T1", "", str(team_indexes["hr"]))
    table.set("slack", "T1", "CIT", str(team_indexes["it"]))
    table.set("slack", "T1", "CFIN", str(team_indexes["finance"]))
    for team, channel in (("it", "CIT"), ("hr", "C-random"), ("finance", "CFIN")):
        reply = answerer.reply(TEAM_QUESTION[team], bot_user_id="B1", asked=Asked("slack", "channel", "T1", channel))
        assert TEAM_MARK[team] in reply.text, (team, reply)
    # a thread follows its channel; a DM the workspace default
    thread = answerer.reply(TEAM_QUESTION["it"], bot_user_id="B1",
                            asked=Asked("discord", "channel", "111", "TH1", parent_id="777"))
    assert thread.text == messages.NO_FAQ_HERE  # another platform's workspace: nothing routed, no fallback
    table.set("discord", "111", "777", str(team_indexes["it"]))
    thread = answerer.reply(TEAM_QUESTION["it"], bot_user_id="B1",
                            asked=Asked("discord", "channel", "111", "TH1", parent_id="777"))
    assert TEAM_MARK["it"] in thread.text
    dm = answerer.reply(TEAM_QUESTION["hr"], bot_user_id="B1", asked=Asked("slack", "dm", "T1", "CIT"))
    assert TEAM_MARK["hr"] in dm.text
    # another workspace: never another team's FAQ
    other = answerer.reply(TEAM_QUESTION["it"], bot_user_id="B1", asked=Asked("slack", "channel", "T2", "CIT"))
    assert other.kind == Kind.NOTICE and other.text == messages.NO_FAQ_HERE
    assert seen[-1].outcome == UNROUTED
    assert {a.engine.index.location for a in seen if a.engine is not None} >= {str(team_indexes["it"])}


def test_unrouted_places_get_the_deployments_index_when_there_is_one(
        store: Store, team_indexes: dict[str, Path], local_embedder: LocalEmbedder, engine: FAQEngine) -> None:
    answerer, table, _seen = _routed_answerer(store, team_indexes, local_embedder, engine,
                                              fallback=str(team_indexes["finance"]))
    table.set("slack", "T1", "CIT", str(team_indexes["it"]))
    reply = answerer.reply("How can Medicare help me?", bot_user_id="B1", asked=Asked("slack", "channel", "T9", "C1"))
    assert reply.kind == Kind.ANSWER  # the deployment's engine (here: the sample, served for FAQ_INDEX)


def test_a_route_to_an_index_that_cannot_be_loaded_is_a_polite_reply(
        store: Store, team_indexes: dict[str, Path], local_embedder: LocalEmbedder, engine: FAQEngine,
        tmp_path: Path) -> None:
    answerer, table, seen = _routed_answerer(store, team_indexes, local_embedder, engine)
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "faq_index.json").write_text("{not json")
    table.set("slack", "T1", "", str(broken))
    reply = answerer.reply("anything", bot_user_id="B1", asked=Asked("slack", "channel", "T1", "C1"))
    assert reply.kind == Kind.NOTICE and reply.text == messages.FAQ_CANNOT_LOAD
    assert seen[-1].outcome == "error"


def test_metrics_and_readiness_report_each_index(sample_index_dir: Path, local_embedder: LocalEmbedder,
                                                 team_indexes: dict[str, Path]) -> None:
    loader = CountingLoader(sample_index_dir, local_embedder)
    registry = EngineRegistry(loader, budget_bytes=10**9)
    registry.get("acme/it-faq@main")
    registry.get(str(team_indexes["hr"]))
    metrics = Metrics()
    metrics.watch_engines(registry)
    text = metrics.render().decode()
    assert 'faq_bot_index_state{index="acme/it-faq@main",revision=' in text
    assert 'index="folder:hr"' in text and str(team_indexes["hr"]) not in text  # no local paths
    assert "faq_bot_index_loads_total 2.0" in text
    detail = indexes_detail(registry)()
    assert detail["loads"] == 2 and [i["state"] for i in detail["indexes"]] == ["loaded", "loaded"]


def test_an_evicted_engines_batcher_is_stopped(store: Store, sample_index_dir: Path, local_embedder: LocalEmbedder,
                                               engine: FAQEngine) -> None:
    size = engine_bytes(FAQEngine(load_index(sample_index_dir), local_embedder))
    registry = EngineRegistry(CountingLoader(sample_index_dir, local_embedder), budget_bytes=int(size * 1.5))
    table = RouteTable(store)
    answerer = Answerer(engine, routing=Routing(table, registry, ServingEngine(engine)))
    table.set("slack", "T1", "C1", "a/one")
    table.set("slack", "T1", "C2", "b/two")
    for channel in ("C1", "C2", "C1"):
        reply = answerer.reply("How can Medicare help me?", bot_user_id=None,
                               asked=Asked("slack", "channel", "T1", channel))
        assert reply.kind == Kind.ANSWER
    assert registry.counts.evictions == 2
    assert len(answerer._batchers) == 2  # the Answerer's own and the one engine loaded now



def test_each_loaded_index_follows_its_own_revision_until_it_is_evicted(
        tmp_path: Path, team_indexes: dict[str, Path], local_embedder: LocalEmbedder) -> None:
    folder = Path(shutil.copytree(team_indexes["it"], tmp_path / "team-faq"))
    registry = EngineRegistry.over(BotSettings(faq_reload_seconds=3600), local_embedder)
    try:
        serving = registry.get(str(folder))
        first = serving.revision
        assert TEAM_MARK["it"] in serving.answer(TEAM_QUESTION["it"]).best.answer  # type: ignore[union-attr,operator]
        [reloader] = registry.reloaders()
        assert reloader.location == str(folder)
        save_index(load_index(team_indexes["hr"]), folder, force=True)  # the team rebuilt its FAQ in place
        assert reloader.check_now() == Check.SWAPPED
        assert serving.revision != first and registry.states()[0].revision == serving.revision
        assert TEAM_MARK["hr"] in serving.answer(TEAM_QUESTION["hr"]).best.answer  # type: ignore[union-attr,operator]
        registry.budget_bytes = 1  # the next load evicts it, and its reloader stops
        registry.get(str(team_indexes["finance"]))
        assert registry.counts.evictions == 1 and reloader not in registry.reloaders()
        assert reloader._thread is not None and not reloader._thread.is_alive()
    finally:
        registry.stop()


def test_the_hub_webhook_wakes_the_reloader_of_the_index_it_is_about(engine: FAQEngine) -> None:
    class Woken:
        def __init__(self, location: str) -> None:
            self.location, self.triggered = location, 0

        def trigger(self) -> None:
            self.triggered += 1

    it, hr = Woken("acme/it-faq"), Woken("acme/hr-faq")
    route = webhook_route_for(lambda: [it, hr], "a-secret-42")  # type: ignore[list-item]
    readiness = Readiness()
    ops = start_ops_server(engine, readiness, None, host="127.0.0.1", port=0, routes=[route])
    try:
        url = f"http://127.0.0.1:{ops.port}{WEBHOOK_PATH}"
        payload = {"event": {"action": "update", "scope": "repo.content"},
                   "repo": {"type": "dataset", "name": "acme/hr-faq", "id": "1", "headSha": "0" * 40}}
        woke = requests.post(url, json=payload, headers={"X-Webhook-Secret": "a-secret-42"}, timeout=10)
        assert woke.status_code == 202 and (it.triggered, hr.triggered) == (0, 1)
        refused = requests.post(url, json=payload, headers={"X-Webhook-Secret": "guess"}, timeout=10)
        assert refused.status_code == 401 and hr.triggered == 1
    finally:
        ops.close()


def test_status_shows_which_revision_of_each_routed_index_each_replica_serves(
        any_db_url: str, sample_index_dir: Path, local_embedder: LocalEmbedder,
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    import json

    from bot.cli import main as cli
    from bot.serving.replicas import routed_replicas

    stores = [Store(any_db_url), Store(any_db_url)]  # two replicas sharing one database
    try:
        size = engine_bytes(FAQEngine(load_index(sample_index_dir), local_embedder))
        registries = [EngineRegistry(CountingLoader(sample_index_dir, local_embedder), budget_bytes=int(size * 1.5),
                                     store=store) for store in stores]
        registries[0].get("acme/it-faq")
        registries[1].get("acme/it-faq")
        registries[1].get("acme/hr-faq")  # evicts acme/it-faq on the second replica: its row goes
        rows = routed_replicas(stores[0])
        assert [(r.index_ref, r.replica_id) for r in rows] == [("acme/hr-faq", stores[1].owner),
                                                              ("acme/it-faq", stores[0].owner)]
        revision = registries[0].get("acme/it-faq").revision
        assert {r.revision for r in rows} == {revision}
        monkeypatch.setenv("DATABASE_URL", any_db_url)
        assert cli.main(["status", "--json"]) == 0
        report = json.loads(capsys.readouterr().out)["routed_indexes"]
        assert report["acme/it-faq"]["converged"] and report["acme/it-faq"]["replicas"][0]["revision"] == revision
        assert cli.main(["status"]) == 0
        assert f"routed FAQ index acme/hr-faq: every live replica serves {revision}" in capsys.readouterr().out
        for registry in registries:
            registry.stop()  # a replica that stops takes its indexes out of the report
        assert routed_replicas(stores[0]) == []
    finally:
        for store in stores:
            store.close()
