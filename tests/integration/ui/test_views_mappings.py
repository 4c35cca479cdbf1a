"""The typed mapping views: ``as_dict()`` is what the admin API answers for the demo company."""

from __future__ import annotations

from integration.ui.ui_kit import DemoSite
from ml_connector.app import bindings, mapping_edits
from ml_connector.app.mapping_edits import MappingEdit
from ml_connector.app.principal import Actor

BASE = "/api/v1/connections/nordlys"


async def test_demo_mapping_views_are_the_api_answers(demo_site: DemoSite) -> None:
    """The mapping table, the field bindings and an edit's result serialise to the API's JSON."""
    rt, actor = demo_site.runtime, Actor.local_admin("tests")
    connection = await rt.store.get_connection(demo_site.name)
    headers = demo_site.bearer("admin@x.test")
    edit = MappingEdit(defaults={"account": "6800"})
    checked = await mapping_edits.edit_mappings(actor, rt, connection, edit, dry_run=True)
    async with demo_site.client() as client:
        dry = await client.patch(
            f"{BASE}/mappings", json={"defaults": {"account": "6800"}}, headers=headers
        )
        table = await client.get(f"{BASE}/mappings", headers=headers)
        fields = await client.get(f"{BASE}/fields", headers=headers)
    assert checked.as_dict() == {"saved": False, "version": None, "rules": 1}
    assert dry.json() == {"saved": True, "version": 1, "rules": 1}
    view = await mapping_edits.mappings_view(actor, rt, connection)
    assert table.json() == view.as_dict()
    assert view.defaults["account"] == "6800"
    assert view.version == 1
    shown = await bindings.fields_view(actor, rt, connection)
    assert fields.json() == shown.as_dict()
    assert [row.entry.field for row in shown.fields] == [
        r["field"] for r in fields.json()["fields"]
    ]
