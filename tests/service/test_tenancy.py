"""A tenant's text form, as the command line takes it: read back as written, and anything else refused in one line."""

from __future__ import annotations

import pytest

from bot.tenancy import Tenant, TenantError


@pytest.mark.parametrize(("text", "tenant"), [
    ("slack:T123", Tenant("slack", "T123")),
    ("slack:E9/T123", Tenant("slack", "T123", "E9")),
    ("discord:456", Tenant("discord", "456")),
    (" Discord:456 ", Tenant("discord", "456")),
])
def test_a_tenant_is_read_from_the_form_it_is_written_in(text: str, tenant: Tenant) -> None:
    assert Tenant.parse(text) == tenant
    assert Tenant.parse(str(tenant)) == tenant


@pytest.mark.parametrize("text", ["T123", "slack:", "teams:T1", "slack:T1;DROP", "discord:1/2", "slack:/T1",
                                  "slack:" + "T" * 65, "discord:45 6"])
def test_anything_else_is_refused_with_how_to_write_one(text: str) -> None:
    with pytest.raises(TenantError) as refused:
        Tenant.parse(text)
    assert "\n" not in str(refused.value)


def test_the_platform_constructors_say_the_same_as_the_text() -> None:
    assert Tenant.slack("T1", "E1") == Tenant.parse("slack:E1/T1")
    assert Tenant.slack("T1", "") == Tenant.parse("slack:T1")
    assert Tenant.discord(456) == Tenant.parse("discord:456")
