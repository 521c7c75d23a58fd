"""Tenant scoping in the store and the erasure of a tenant that left, on SQLite and PostgreSQL.

Two Slack workspaces (one in a Grid org) and a Discord guild share one store;
every table that holds what people asked, voted or decided carries its
tenant, the erasure deletes only the departed tenant's rows, in batches,
when due and idempotently, and the migration gives existing rows the
deployment's one workspace."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import inspect, select, text

from bot.conversation.answering import Answered, Asked
from bot.features.digest import Period, claim_period
from bot.features.handoff import claim_handoff
from bot.features.recording import QuestionRow, record_pick, record_question
from bot.features.review.decisions import dismiss
from bot.features.upkeep import maintain
from bot.store.database import Store, Vote
from bot.store.erasure import cancel_erasure, erase_due, erasures, schedule_erasure
from bot.store.intake import Intake
from bot.store.scoping import TENANT_TABLES, Scope, scope_for, store_tenants
from bot.tenancy import Tenant

A = Tenant.slack("TALPHA1")
B = Tenant.slack("TBRAVO2", "EGRID9")
G = Tenant.discord(123456789012345678)
NOW = datetime(2026, 12, 1, tzinfo=UTC)
WEEK = Period(datetime(2026, 11, 23, tzinfo=UTC), datetime(2026, 11, 30, tzinfo=UTC))


def fill(store: Store, tenant: Tenant, n: int = 3) -> None:
    """``n`` of everything a tenant stores: questions, picks, votes, button refs, hand-offs, decisions, a digest."""
    intake = Intake(store)
    for i in range(n):
        key, answer_id = f"{tenant}:q{i}", f"{tenant.workspace}-a{i}"
        assert intake.add(key, "app_mention", {"q": i}, tenant)
        asked = Asked(tenant.platform, "channel", tenant.workspace, "C1", f"U{i}", key=key,
                      enterprise=tenant.enterprise)
        record_question(store, Answered(asked, f"{tenant} question {i}", None, "no_match", 0.1, answer_id=answer_id))
        record_pick(store, key=f"{key}:pick", answer_id=answer_id, faq_id="f1", tenant=tenant)
        store.record_vote(Vote(answer_id, f"U{i}", "q", "f1", 0.5, "C1", "helpful", tenant=tenant))
        store.keep_ref(answer_id, "{}", tenant)
        assert claim_handoff(store, answer_id=answer_id, work_key=key, target="C9", requested_by="U1", tenant=tenant)
    dismiss(store, "c1", [f"{tenant} question 0"], tenant=tenant)
    assert claim_period(store, WEEK, "C7", now=NOW, tenant=tenant).won


def counts(store: Store) -> dict[str, dict[str, int]]:
    """Rows per table per workspace."""
    found: dict[str, dict[str, int]] = {}
    with store.engine.connect() as connection:
        for name in TENANT_TABLES:
            rows = connection.execute(text(f"SELECT workspace, COUNT(*) FROM {name} GROUP BY workspace")).all()
            found[name] = {str(workspace): int(n) for workspace, n in rows}
    return found


def test_every_table_holding_peoples_data_carries_its_tenant(any_store: Store) -> None:
    tables = inspect(any_store.engine)
    scoped = {name for name in tables.get_table_names()
              if {"platform", "workspace", "enterprise"} <= {c["name"] for c in tables.get_columns(name)}}
    assert scoped - {"scheduled_erasures"} == set(TENANT_TABLES)  # the erasure walks every one, and no other
    # Slack installations are keyed by their own workspace and org (slack_sdk's columns), deleted at uninstall
    installs = {"slack_installations", "slack_bots"}
    assert all({"team_id", "enterprise_id"} <= {c["name"] for c in tables.get_columns(name)} for name in installs)
    unscoped = set(tables.get_table_names()) - scoped - installs
    # the deployment's own, no one's data (an install in progress has no workspace yet); and the routes,
    # admins' settings keyed by platform and workspace (erased with it: test_a_departed_workspaces_routes_go_with_it)
    assert unscoped <= {"alembic_version", "replicas", "replica_indexes", "index_pin", "slack_oauth_states", "routes"}
    assert {"platform", "workspace"} <= {c["name"] for c in tables.get_columns("routes")}


def test_each_tenant_reads_its_own_rows_and_the_same_period_or_text_is_each_tenants_own(any_store: Store) -> None:
    for tenant in (A, B, G):
        fill(any_store, tenant)
    assert counts(any_store)["digests"] == {"TALPHA1": 1, "TBRAVO2": 1, str(G.workspace): 1}
    assert counts(any_store)["review_marks"] == {"TALPHA1": 1, "TBRAVO2": 1, str(G.workspace): 1}
    assert not claim_period(any_store, WEEK, "C7", now=NOW, tenant=A).won  # still one sender per tenant
    assert store_tenants(any_store) == [G, A, B]  # sorted by name: discord:…, slack:…
    assert scope_for(any_store, A) == Scope(A)  # other tenants: rows without one are nobody's
    votes = any_store.votes(Scope(A))
    assert len(votes) == 3 and {v.workspace for v in votes} == {"TALPHA1"}
    assert any_store.tally("TALPHA1-a0", Scope(B)) == (0, 0) and any_store.tally("TALPHA1-a0", Scope(A)) == (1, 0)


def test_a_vote_naming_another_tenants_answer_never_changes_its_votes(any_store: Store) -> None:
    fill(any_store, A, 1)
    # the same person (Discord ids are global) "votes" on A's answer id from guild G
    result = any_store.record_vote(Vote("TALPHA1-a0", "U0", "q", "f1", 0.5, "C1", "not_helpful", tenant=G))
    assert (result.helpful, result.not_helpful, result.changed) == (0, 0, False)
    assert any_store.tally("TALPHA1-a0", Scope(A)) == (1, 0)
    assert claim_handoff(any_store, answer_id="TALPHA1-a0", work_key="x", target="C666", requested_by="U0",
                         tenant=G) is None  # nor claims its hand-off, nor learns where it went
    assert any_store.ref("TALPHA1-a0", G) is None and any_store.ref("TALPHA1-a0", A) == "{}"


def test_the_erasure_deletes_only_the_departed_tenants_rows_when_due_in_batches(any_store: Store) -> None:
    for tenant in (A, B, G):
        fill(any_store, tenant, 5)
    before = counts(any_store)
    erasure = schedule_erasure(any_store, B, after=timedelta(days=30), reason="uninstalled", now=NOW)
    assert erasure.due_at == NOW + timedelta(days=30)
    again = schedule_erasure(any_store, B, after=timedelta(days=90), now=NOW + timedelta(days=1))
    assert again.id == erasure.id and again.due_at == erasure.due_at  # a second uninstall never postpones it
    assert erase_due(any_store, now=NOW + timedelta(days=29)) == 0  # not due yet
    assert counts(any_store) == before
    # due: two batches of 2 rows per run, so it takes several runs; each deletes only B's rows
    runs, deleted = 0, 0
    while True:
        runs += 1
        n = erase_due(any_store, now=NOW + timedelta(days=31), batch_rows=2, max_batches=2)
        deleted += n
        assert all("TBRAVO2" not in rows or rows["TBRAVO2"] <= before[name]["TBRAVO2"]
                   for name, rows in counts(any_store).items())
        if erasures(any_store)[0].done_at is not None:
            break
        assert runs < 100
    assert runs > 1 and deleted == sum(rows["TBRAVO2"] for rows in before.values())
    after = counts(any_store)
    assert all("TBRAVO2" not in rows for rows in after.values())
    assert after == {name: {k: v for k, v in rows.items() if k != "TBRAVO2"} for name, rows in before.items()}
    assert erase_due(any_store, now=NOW + timedelta(days=40)) == 0  # done: nothing twice
    assert erasures(any_store)[0].deleted == deleted


def test_a_whole_grid_org_is_erased_and_a_reinstall_before_it_is_due_cancels_it(any_store: Store) -> None:
    other_in_org = Tenant.slack("TCHARLIE3", "EGRID9")
    for tenant in (A, B, other_in_org):
        fill(any_store, tenant, 2)
    schedule_erasure(any_store, A, after=timedelta(days=1), now=NOW)
    assert cancel_erasure(any_store, A) and erasures(any_store) == []
    schedule_erasure(any_store, B, after=timedelta(0), whole_enterprise=True, now=NOW)
    maintain(any_store, Intake(any_store), retention_days=90)  # the periodic clean-up runs it
    assert {w for rows in counts(any_store).values() for w in rows} == {"TALPHA1"}
    with pytest.raises(ValueError, match="enterprise"):
        schedule_erasure(any_store, A, whole_enterprise=True)


def test_the_migration_gives_existing_rows_the_deployments_one_workspace(tmp_path: Path) -> None:
    from alembic import command

    from bot.store.database import make_engine
    from bot.store.migrations import _config, upgrade

    engine = make_engine(f"sqlite:///{tmp_path / 'old.db'}")
    with engine.begin() as connection:
        command.upgrade(_config(connection), "0006")
        connection.execute(text(
            "INSERT INTO questions (key, answer_id, asked_at, platform, workspace, channel_kind, outcome) "
            "VALUES ('k1', 'a1', '2026-11-01 00:00:00', 'slack', 'TOLD1', 'channel', 'no_match')"))
        connection.execute(text(
            "INSERT INTO feedback (answer_id, user_id, query, vote, voted_at) "
            "VALUES ('a1', 'U1', 'q', 'helpful', '2026-11-01 00:00:00')"))
        connection.execute(text(
            "INSERT INTO digests (period, channel, claimed_by, claimed_at) "
            "VALUES ('2026-10-26T00:00', 'C7', 'r1', '2026-11-02 00:00:00')"))
    assert upgrade(engine)[0] == "0006"
    store = Store(f"sqlite:///{tmp_path / 'old.db'}")
    try:
        assert store_tenants(store) == [Tenant.slack("TOLD1")]
        assert {name: rows for name, rows in counts(store).items() if rows} == {
            "questions": {"TOLD1": 1}, "feedback": {"TOLD1": 1}, "digests": {"TOLD1": 1}}
        with store.engine.connect() as connection:
            assert connection.execute(select(QuestionRow.workspace)).scalar() == "TOLD1"
    finally:
        store.close()
        engine.dispose()


def test_the_tenant_migration_downgrades_and_upgrades_again(any_store: Store) -> None:
    from alembic import command

    from bot.store.migrations import _config, head, upgrade

    fill(any_store, A, 1)
    with any_store.engine.begin() as connection:
        command.downgrade(_config(connection), "0006")
        assert "scheduled_erasures" not in inspect(connection).get_table_names()
    assert upgrade(any_store.engine) == ("0006", head())
    fill(any_store, B, 1)
    assert not claim_period(any_store, WEEK, "C7", now=NOW, tenant=A).won  # A's digest survived the round trip


def test_a_decision_in_one_tenant_never_hides_a_question_from_anothers_review(any_store: Store) -> None:
    from bot.features.review.decisions import decided_keys, decisions

    for tenant in (A, B):
        fill(any_store, tenant, 1)
    dismiss(any_store, "c2", ["the same question, asked in both"], tenant=A)
    dismiss(any_store, "c2", ["the same question, asked in both"], tenant=B)  # not "decided already" for B
    assert len(decided_keys(any_store, Scope(A))) == 2 and len(decided_keys(any_store, Scope(B))) == 2
    assert {d.cluster for d in decisions(any_store, scope=Scope(B))} == {"c1", "c2"}
    assert all("TALPHA1" not in text for d in decisions(any_store, scope=Scope(B)) for text in d.texts)


def test_rows_without_a_tenant_are_read_only_while_the_store_holds_no_other(any_store: Store) -> None:
    asked = Asked("discord", "dm", None, "D1", "U1", key="dm:1")  # a Discord DM: no guild
    record_question(any_store, Answered(asked, "a DM question", None, "no_match", 0.1, answer_id="dm-a1"))
    fill(any_store, G, 1)
    assert scope_for(any_store, G) == Scope(G, unscoped=True)
    with any_store.engine.connect() as connection:
        seen = {row.text for row in connection.execute(select(QuestionRow.text)
                                                        .where(Scope(G, True).where(QuestionRow)))}
    assert seen == {"a DM question", f"{G} question 0"}
    assert scope_for(any_store, None) == Scope(None)
    fill(any_store, A, 1)  # a second tenant: rows without one are nobody's now
    assert scope_for(any_store, G) == Scope(G) and scope_for(any_store, A) == Scope(A)
    # even a Slack read told to take rows without a tenant never takes a Discord DM
    with any_store.engine.connect() as connection:
        slack = {row.text for row in connection.execute(select(QuestionRow.text)
                                                         .where(Scope(A, True).where(QuestionRow)))}
    assert slack == {f"{A} question 0"}


def test_a_departed_workspaces_routes_go_with_it(any_store: Store) -> None:
    from bot.store.routes import list_routes, set_route

    set_route(any_store, "slack", A.workspace, "", "acme/a-faq")
    set_route(any_store, "slack", B.workspace, "C1", "acme/b-faq")
    schedule_erasure(any_store, B, after=timedelta(0), now=NOW)
    erase_due(any_store, now=NOW + timedelta(seconds=1))
    assert [(r.workspace, r.index_ref) for r in list_routes(any_store)] == [(A.workspace, "acme/a-faq")]
