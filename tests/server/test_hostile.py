"""Hostile, malformed and oversize requests get a 4xx with a clear message, never a 500."""

from __future__ import annotations

from collections.abc import Iterator

from tests.server.world import D1, World, brussels, iso


def _error(response: object, status: int, code: str) -> str:
    assert response.status_code == status, response.text  # type: ignore[attr-defined]
    body = response.json()  # type: ignore[attr-defined]
    assert body["error"]["code"] == code, body
    message: str = body["error"]["message"]
    assert message
    return message


def test_oversize_body_is_refused_before_parsing(world: World) -> None:
    admin = world["admin_a"]
    huge = {"name": "x" * 2_000_000, "kind": "cooperative"}
    message = _error(admin.post("/api/v1/organisations", huge), 413, "payload_too_large")
    assert message == "Le corps de la requête est trop grand (maximum 1000000 octets)."

    def chunks() -> Iterator[bytes]:  # no Content-Length: the limit holds on the stream too
        yield b'{"name": "'
        for _ in range(300):
            yield b"y" * 10_000
        yield b'", "kind": "cooperative"}'

    response = admin.client.post(
        "/api/v1/organisations",
        content=chunks(),
        headers={**admin.headers, "Content-Type": "application/json", "Accept-Language": "en"},
    )
    assert _error(response, 413, "payload_too_large").startswith("The request body is too large")


def test_deep_json_is_refused(world: World) -> None:
    admin = world["admin_a"]
    deep = "[" * 100_000 + "]" * 100_000
    response = admin.client.post(
        "/api/v1/organisations",
        content=deep,
        headers={**admin.headers, "Content-Type": "application/json"},
    )
    assert _error(response, 422, "too_deep") == "Le JSON est trop imbriqué."
    # Brackets inside strings are text, not nesting.
    ok = {"name": "[" * 100 + "{" * 100, "kind": "producer"}
    assert admin.post("/api/v1/organisations", ok).status_code == 201


def test_malformed_json_and_wrong_shapes(world: World) -> None:
    admin, ids = world["admin_a"], world.ids
    headers = {**admin.headers, "Content-Type": "application/json"}
    post = admin.client.post
    _error(post("/api/v1/vans", content=b'{"name": ', headers=headers), 422, "invalid_json")
    _error(post("/api/v1/vans", content=b"\xff\xfe\x00", headers=headers), 400, "invalid_json")
    _error(post("/api/v1/vans", content=b"[1, 2]", headers=headers), 422, "validation_error")
    _error(post("/api/v1/vans", content=b"null", headers=headers), 422, "validation_error")
    # Wrong types, with the field named in the message.
    message = _error(
        admin.post("/api/v1/vans", {"name": 5, "plate": ["x"], "owner_id": "A"}),
        422,
        "validation_error",
    )
    assert message.startswith("Données invalides : body.name: doit être un texte; body.plate:")
    english = admin.post(
        "/api/v1/vans",
        {"name": "V"},
        headers={"Accept-Language": "de-DE, en;q=0.8, fr;q=0.5"},
    ).json()["error"]
    assert (
        english["message"]
        == "Invalid data: body.plate: Field required; body.owner_id: Field required"
    )
    french = admin.post("/api/v1/vans", {"name": "V"}).json()["error"]
    assert [d["problem"] for d in french["details"]] == ["champ obligatoire", "champ obligatoire"]
    details = admin.post("/api/v1/vans", {"name": 5, "plate": ["x"], "owner_id": "A"}).json()[
        "error"
    ]["details"]
    assert {d["field"] for d in details} == {"body.name", "body.plate", "body.owner_id"}
    # Unknown fields are refused, not ignored.
    extra = {"name": "V", "plate": "P-9", "owner_id": ids["A"], "is_admin": True}
    assert "is_admin" in _error(admin.post("/api/v1/vans", extra), 422, "validation_error")


def test_out_of_range_values(world: World) -> None:
    admin, ids = world["admin_a"], world.ids
    url = f"/api/v1/probes/{ids['probe_VA']}/installations"
    for start in ("9999-12-31T23:59:59+14:00", "0001-01-01T00:00:00-12:00", "yesterday", 1e300):
        _error(
            admin.post(url, {"zone_id": ids["VA_surgele"], "start": start}), 422, "validation_error"
        )
    for huge_id in (10**30, 2**31, -1, 0):
        _error(
            admin.post(url, {"zone_id": huge_id, "start": iso(brussels(D1, 1))}),
            422,
            "validation_error",
        )
    _error(admin.get(f"/api/v1/vans/{10**30}"), 422, "validation_error")
    _error(admin.get("/api/v1/vans/abc"), 422, "validation_error")
    _error(admin.get("/api/v1/vans?limit=100000"), 422, "validation_error")
    _error(admin.get("/api/v1/vans?offset=-1"), 422, "validation_error")
    query = {"start": iso(brussels(D1, 0)), "end": iso(brussels(D1, 0).replace(year=2027))}
    assert "31" in _error(
        admin.get(f"/api/v1/zones/{ids['VA_frais']}/readings", params=query),
        422,
        "validation_error",
    )
    # NaN and infinities are not temperatures (Python's json would accept the literals).
    for literal in (b"NaN", b"Infinity", b"-Infinity", b"1e999"):
        body = b'{"zones": [{"zone_id": %d, "temperature_c": %s}]}' % (ids["VA_frais"], literal)
        response = admin.client.post(
            f"/api/v1/deliveries/{ids['DA']}/departure",
            content=body,
            headers={**admin.headers, "Content-Type": "application/json"},
        )
        assert response.status_code == 422, (literal, response.text)


def test_hostile_strings(world: World) -> None:
    admin, ids = world["admin_a"], world.ids
    for name in ("", "   ", "x" * 201, "nul\x00byte", "\ud800 lone surrogate"):
        body = {"name": name, "plate": "H-1", "owner_id": ids["A"]}
        response = admin.client.post(
            "/api/v1/vans",
            content=_json_keeping_surrogates(body),
            headers={**admin.headers, "Content-Type": "application/json"},
        )
        _error(response, 422, "validation_error")
    # Injection-looking text is stored and returned as text.
    text = "Robert'); DROP TABLE van;-- <script>alert(1)</script> é 🧊"
    van = admin.ok(
        "POST", "/api/v1/vans", {"name": text, "plate": "H-2", "owner_id": ids["A"]}, 201
    )
    assert admin.ok("GET", f"/api/v1/vans/{van['id']}")["name"] == text
    assert admin.ok("GET", "/api/v1/vans")["count"] == 2
    _error(admin.get("/api/v1/loads", params={"lot_reference": "a\x00b"}), 422, "validation_error")
    # Hostile credentials.
    for credentials in (
        {"email": "x" * 10_000, "password": "p"},
        {"email": "a@b", "password": "p" * 10_000},
    ):
        _error(admin.client.post("/api/v1/auth/login", json=credentials), 422, "validation_error")


def test_duplicates_are_conflicts(world: World) -> None:
    admin, ids = world["admin_a"], world.ids
    van = {"name": "Autre", "plate": "1-ABC-123", "owner_id": ids["A"]}  # VA's plate
    message = _error(admin.post("/api/v1/vans", van), 409, "conflict")
    assert message == "Conflit avec les données existantes : plaque déjà enregistrée"
    english = admin.post("/api/v1/vans", van, headers={"Accept-Language": "en"})
    assert english.json()["error"]["message"].endswith("plate already registered")
    zone = {"name": "frais", "kind": "compartment"}
    _error(admin.post(f"/api/v1/vans/{ids['VA']}/zones", zone), 409, "conflict")
    user = {"email": "DRIVER_A@example.be", "full_name": "Bis", "password": "0123456789ab",
            "memberships": [{"organisation_id": ids["A"], "role": "driver"}]}  # fmt: skip
    _error(admin.post("/api/v1/users", user), 409, "conflict")
    wrong_role = [{"organisation_id": ids["A"], "role": "producer"}]  # not a cooperative role
    response = admin.post("/api/v1/users", {**user, "email": "n@x.be", "memberships": wrong_role})
    assert "« producteur »" in _error(response, 422, "validation_error")  # by name, not code


def test_unknown_route_and_method(world: World) -> None:
    admin = world["admin_a"]
    assert _error(admin.get("/api/v1/nothing-here"), 404, "not_found") == "Introuvable."
    _error(admin.client.delete("/api/v1/vans", headers=admin.headers), 405, "method_not_allowed")


def _json_keeping_surrogates(body: dict[str, object]) -> bytes:
    import json

    return json.dumps(body).encode()  # ensure_ascii escapes a lone surrogate as \\ud800
