"""A user's life after creation (server/api/users.py, rules in server/domain/users.py):
roles granted and removed, the account deactivated and reactivated, by whom, and that it
takes effect at once — on SQLite and PostgreSQL, over HTTP on the real app, in the world of
tests/server/world.py."""

from __future__ import annotations

import logging
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from tests.server.world import PASSWORD, As, World, login

USERS = "/api/v1/users"
WRONG_PASSWORD = "Adresse e-mail ou mot de passe incorrect."


def deactivate(by: As, user_id: int) -> Any:
    return by.post(f"{USERS}/{user_id}/deactivate")


def reactivate(by: As, user_id: int) -> Any:
    return by.post(f"{USERS}/{user_id}/reactivate")


def grant(by: As, user_id: int, organisation_id: int, role: str) -> Any:
    body = {"organisation_id": organisation_id, "role": role}
    return by.post(f"{USERS}/{user_id}/memberships", body)


def revoke(by: As, user_id: int, organisation_id: int, role: str) -> Any:
    body = {"organisation_id": organisation_id, "role": role}
    return by.post(f"{USERS}/{user_id}/memberships/revoke", body)


def code(answer: Any) -> str:
    return str(answer.json()["error"]["code"])


def test_deactivation_takes_effect_at_once_and_reactivation_restores_login(
    app: FastAPI, world: World, caplog: pytest.LogCaptureFixture
) -> None:
    driver = world.user_ids["driver_a"]
    bearer = world["driver_a"]
    with TestClient(app) as browser:  # a signed-in page session (the cookie)
        signed = browser.post(
            "/api/v1/auth/login", json={"email": "driver_a@example.be", "password": PASSWORD}
        )
        assert signed.status_code == 200
        assert browser.get(f"{USERS}/me").status_code == 200
        assert bearer.get(f"{USERS}/me").status_code == 200
        with caplog.at_level(logging.INFO, logger="server.domain.users"):
            done = deactivate(world["admin_a"], driver)
        assert done.status_code == 200, done.text
        assert done.json()["is_active"] is False
        # who, whom, what
        assert f"user {world.user_ids['admin_a']} deactivated user {driver}" in caplog.text
        assert browser.get(f"{USERS}/me").status_code == 401  # the session cookie
        assert browser.get("/driver", follow_redirects=False).headers["location"] == "/login"
        assert bearer.get(f"{USERS}/me").status_code == 401  # the bearer token
        assert bearer.get(f"/api/v1/deliveries/{world.ids['DA']}").status_code == 401
    refused = world.client.post(
        "/api/v1/auth/login", json={"email": "driver_a@example.be", "password": PASSWORD}
    )
    wrong = world.client.post(
        "/api/v1/auth/login", json={"email": "driver_a2@example.be", "password": "pas le bon"}
    )
    assert refused.status_code == wrong.status_code == 401
    assert refused.json() == wrong.json()  # no hint that the account exists but is off
    assert refused.json()["error"]["message"] == WRONG_PASSWORD
    listed = world["admin_a"].ok("GET", USERS, params={"limit": 100})["data"]
    assert {u["email"]: u["is_active"] for u in listed}["driver_a@example.be"] is False

    again = reactivate(world["admin_a"], driver)
    assert again.status_code == 200 and again.json()["is_active"] is True
    assert bearer.get(f"{USERS}/me").status_code == 401  # old sessions stay revoked
    fresh = As(world.client, login(world.client, "driver_a@example.be"))
    assert fresh.get(f"/api/v1/deliveries/{world.ids['DA']}").status_code == 200
    assert deactivate(world["admin_a"], driver).status_code == 200
    assert deactivate(world["admin_a"], driver).status_code == 200  # twice is harmless


def test_who_may_deactivate(world: World) -> None:
    ids, uid = world.ids, world.user_ids
    driver_a = uid["driver_a"]
    other_coop = deactivate(world["admin_b"], driver_a)  # not one of theirs: not there
    assert other_coop.status_code == 404 and code(other_coop) == "not_found"
    assert deactivate(world["driver_a2"], driver_a).status_code == 404
    assert deactivate(world["hygiene_a"], driver_a).status_code == 404
    assert deactivate(world["admin_a"], 999_999).status_code == 404
    # A driver of both cooperatives: neither admin alone, the superuser yes.
    assert grant(world["admin_b"], driver_a, ids["B"], "driver").status_code == 404  # A's
    assert grant(world["root"], driver_a, ids["B"], "driver").status_code == 201
    shared = deactivate(world["admin_a"], driver_a)
    assert shared.status_code == 403 and code(shared) == "forbidden"
    assert deactivate(world["admin_b"], driver_a).status_code == 403
    assert deactivate(world["root"], driver_a).status_code == 200
    assert reactivate(world["admin_b"], driver_a).status_code == 403
    assert reactivate(world["root"], driver_a).status_code == 200
    # A cooperative's admin acts for the people of its member producers, like creation.
    assert deactivate(world["admin_a"], uid["producer2"]).status_code == 200
    assert deactivate(world["admin_b"], uid["producer2"]).status_code == 404  # P2 is A's only
    assert reactivate(world["admin_a"], uid["producer2"]).status_code == 200


def test_a_superuser_is_only_deactivated_by_a_superuser(world: World) -> None:
    root = world["root"].ok("GET", f"{USERS}/me")["id"]
    # The superuser also holds a role in A, so A's admin sees them.
    assert grant(world["root"], root, world.ids["A"], "hygiene_officer").status_code == 201
    refused = deactivate(world["admin_a"], root)
    assert refused.status_code == 403 and code(refused) == "forbidden"
    assert world["root"].get(f"{USERS}/me").status_code == 200


def test_nobody_deactivates_themselves(world: World) -> None:
    # admin_b: the only admin of B, admin_a: one of two of A (so only the self rule refuses)
    assert (
        grant(world["root"], world.user_ids["hygiene_a"], world.ids["A"], "admin").status_code
        == 201
    )
    for name in ("admin_a", "admin_b", "root"):
        me = world[name].ok("GET", f"{USERS}/me")["id"]
        own = deactivate(world[name], me)
        assert own.status_code == 409 and code(own) == "conflict", own.text
        assert "votre propre compte" in own.json()["error"]["message"]
        english = world[name].post(f"{USERS}/{me}/deactivate", headers={"Accept-Language": "en"})
        assert "your own account" in english.json()["error"]["message"]
        assert world[name].get(f"{USERS}/me").status_code == 200


def test_an_organisation_keeps_an_active_admin(world: World) -> None:
    ids, uid = world.ids, world.user_ids
    root, admin_a = world["root"], uid["admin_a"]
    last = revoke(root, admin_a, ids["A"], "admin")
    assert last.status_code == 409 and code(last) == "conflict"
    assert "dernier administrateur actif" in last.json()["error"]["message"]
    off = deactivate(root, admin_a)  # the same through deactivation
    assert off.status_code == 409 and "dernier administrateur" in off.json()["error"]["message"]
    # With a second admin, the first may go; then the second is the last one.
    assert grant(world["admin_a"], uid["hygiene_a"], ids["A"], "admin").status_code == 201
    assert deactivate(root, admin_a).status_code == 200
    assert revoke(root, uid["hygiene_a"], ids["A"], "admin").status_code == 409
    assert reactivate(root, admin_a).status_code == 200
    assert revoke(root, uid["hygiene_a"], ids["A"], "admin").status_code == 200


def test_granting_and_revoking_a_role(world: World) -> None:
    ids, uid = world.ids, world.user_ids
    admin_a, driver_a2 = world["admin_a"], uid["driver_a2"]
    delivery = f"/api/v1/deliveries/{ids['DA']}"  # coop A's, driven by driver_a
    assert world["driver_a2"].get(delivery).status_code == 404
    made = grant(admin_a, driver_a2, ids["A"], "hygiene_officer")
    assert made.status_code == 201, made.text
    roles = {(m["organisation_id"], m["role"]) for m in made.json()["memberships"]}
    assert roles == {(ids["A"], "driver"), (ids["A"], "hygiene_officer")}
    assert world["driver_a2"].get(delivery).status_code == 200  # the same token, at once
    twice = grant(admin_a, driver_a2, ids["A"], "hygiene_officer")
    assert twice.status_code == 409 and "déjà ce rôle" in twice.json()["error"]["message"]
    wrong_kind = grant(admin_a, driver_a2, ids["P1"], "driver")  # no driver in a producer
    assert wrong_kind.status_code == 422
    assert grant(world["admin_b"], driver_a2, ids["B"], "driver").status_code == 404  # not B's
    assert grant(world["driver_a"], driver_a2, ids["A"], "admin").status_code == 404

    foreign = revoke(world["admin_b"], driver_a2, ids["A"], "hygiene_officer")
    assert foreign.status_code == 404
    assert revoke(admin_a, driver_a2, ids["A"], "admin").status_code == 404  # not held
    gone = revoke(admin_a, driver_a2, ids["A"], "hygiene_officer")
    assert gone.status_code == 200, gone.text
    assert [m["role"] for m in gone.json()["memberships"]] == ["driver"]
    assert world["driver_a2"].get(delivery).status_code == 404  # access ends at once
    only = revoke(admin_a, driver_a2, ids["A"], "driver")  # their last role
    assert only.status_code == 409 and "désactivez" in only.json()["error"]["message"]


def test_revoking_a_role_in_one_cooperative_keeps_the_other(world: World) -> None:
    ids, uid = world.ids, world.user_ids
    driver_b = uid["driver_b"]
    assert grant(world["root"], driver_b, ids["A"], "hygiene_officer").status_code == 201
    da = f"/api/v1/deliveries/{ids['DA']}"
    db = f"/api/v1/deliveries/{ids['DB']}"
    assert world["driver_b"].get(da).status_code == 200
    # A's admin removes A's role (theirs to grant), not B's.
    refused = revoke(world["admin_a"], driver_b, ids["B"], "driver")
    assert refused.status_code == 403 and code(refused) == "forbidden"
    assert revoke(world["admin_a"], driver_b, ids["A"], "hygiene_officer").status_code == 200
    assert world["driver_b"].get(da).status_code == 404
    assert world["driver_b"].get(db).status_code == 200
    # No role in A any more: driver_b is B's alone, out of A's admin's sight.
    assert grant(world["admin_a"], driver_b, ids["A"], "driver").status_code == 404


def test_the_people_listed_are_the_people_an_admin_manages(world: World) -> None:
    """GET /users lists whom the admin may act on: their cooperative's people and those of
    its member producers (the users' page lists the same, server/domain/users.py)."""
    uid = world.user_ids
    listed = {u["email"] for u in world["admin_a"].ok("GET", USERS, params={"limit": 100})["data"]}
    assert listed == {
        f"{name}@example.be"
        for name in ("admin_a", "hygiene_a", "driver_a", "driver_a2", "producer1", "producer2")
    }
    assert deactivate(world["admin_a"], uid["producer2"]).status_code == 200  # listed: managed
    assert deactivate(world["admin_a"], uid["producer3"]).status_code == 404  # not listed
    everyone = world["root"].ok("GET", USERS, params={"limit": 100})["data"]
    assert {u["id"] for u in everyone} == {
        *uid.values(),
        world["root"].ok("GET", f"{USERS}/me")["id"],
    }
