"""What a user writes to test a Clay automation offline with claystack's fixtures."""

from __future__ import annotations

import pytest

from claystack import Client, NotFoundError
from claystack.testing import ClaystackServer


def enrich_leads(clay: Client, workspace: int, emails: list[str]) -> str:
    """The 'automation' under test: a table of leads with a domain column filled in."""
    table = clay.tables.create(workspace, "Leads")
    email = clay.fields.create(table.id, "Email")
    domain = clay.fields.create(table.id, "Domain")
    clay.records.add(
        table.id, ({email.id: e, domain.id: e.split("@")[1]} for e in emails), batch_size=2
    )
    return table.id


def check_automation_fills_the_table(clay: Client, claystack_server: ClaystackServer) -> None:
    assert clay.base_url == claystack_server.base_url
    assert clay.base_url.startswith("http://127.0.0.1:")
    table_id = enrich_leads(clay, claystack_server.workspace_id, ["a@x.io", "b@y.io", "c@z.io"])
    assert clay.tables.count(table_id) == 3
    domains = sorted(
        r.values[clay.tables.get(table_id).field("Domain").id] for r in clay.records.iter(table_id)
    )
    assert domains == ["x.io", "y.io", "z.io"]


@pytest.mark.claystack_reset
def check_marker_starts_from_a_clean_server(clay: Client) -> None:
    assert clay.resources.list(1, everywhere=True) == []


def check_state_is_kept_without_a_reset(clay_client: Client) -> None:
    assert [r.name for r in clay_client.resources.list(1, types=["TABLE"], everywhere=True)] == []
    enrich_leads(clay_client, 1, ["d@w.io"])


def check_reset_fixture(claystack_reset: ClaystackServer, clay: Client) -> None:
    assert clay.resources.list(1, everywhere=True) == []
    with pytest.raises(NotFoundError):
        clay.tables.get("t_does_not_exist")
