"""The world every server test starts from can be built through the API."""

from __future__ import annotations

from tests.server.world import World


def test_world_builds_through_the_api(world: World) -> None:
    me = world["producer1"].ok("GET", "/api/v1/users/me")
    assert me["memberships"] == [{"organisation_id": world.ids["P1"], "role": "producer"}]
    delivery = world["admin_a"].ok("GET", f"/api/v1/deliveries/{world.ids['DA']}")
    assert [s["kind"] for s in delivery["stops"]] == ["pickup", "drop"]
    assert {load["lot_reference"] for load in delivery["loads"]} == {"LOT-L1", "LOT-L2"}
