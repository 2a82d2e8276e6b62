"""Schemathesis against the OpenAPI document: no generated input, valid or not, makes the
server answer 5xx, and every answer matches the documented status codes and bodies.

Bounded to a few examples per operation to fit the test budget; the app and its world are
built once per database for the whole module.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.core.result import Ok
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from coldchain.readingstore.sqlite import SqliteReadingStore
from server.app import create_app
from tests.harness.app import make_settings
from tests.server.world import World, build_world


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def fuzz_world(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[Any, World]]:
    tmp: Path = tmp_path_factory.mktemp(f"fuzz-{request.param}")
    if request.param == "sqlite":
        import shutil

        shutil.copy(request.getfixturevalue("sqlite_template"), tmp / "db.sqlite3")
        url = f"sqlite:///{tmp / 'db.sqlite3'}"
    else:
        server = request.getfixturevalue("postgres")
        template = request.getfixturevalue("postgres_template")
        server.execute(f"CREATE DATABASE fuzz TEMPLATE {template}")
        url = server.url("fuzz")
    store = SqliteReadingStore(tmp / "readings.sqlite3")
    app = create_app(make_settings(url, tmp), reading_store=store)
    with TestClient(app) as client:
        yield app, build_world(client, app)
    store.close()
    if request.param == "postgresql":
        request.getfixturevalue("postgres").execute("DROP DATABASE fuzz WITH (FORCE)")


CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]


def test_no_server_error_and_conforms(fuzz_world: tuple[Any, World]) -> None:
    """Every operation, with valid and with invalid inputs (schemathesis' two modes).

    schemathesis' own pytest plugin (`from_fixture` / `parametrize`) does not run under
    pytest 9 (it sets the removed `Function._nodeid`), so the operations are driven here
    with their Hypothesis strategies; failures of all operations are reported together.
    """
    app, world = fuzz_world
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    failures: list[str] = []
    operations = []
    for result in schema.get_all_operations():
        assert isinstance(result, Ok), result.err()  # the document itself is valid
        operations.append(result.ok())
    assert len(operations) >= 30
    for operation in operations:
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):

            @given(case=operation.as_strategy(generation_mode=mode))
            @settings(
                max_examples=8,
                deadline=None,
                derandomize=True,  # the same inputs every run: a failure is reproducible
                suppress_health_check=list(HealthCheck),
                database=None,
            )
            def run(case: Any) -> None:
                case.call_and_validate(headers=world["admin_a"].headers, checks=CHECKS)

            try:
                run()
            except Unsatisfiable:
                # No invalid input exists for an operation without parameters (GET /healthz).
                assert mode is GenerationMode.NEGATIVE
            except Exception as exc:  # collect, then report every failing operation
                failures.append(f"{operation.label} ({mode}): {str(exc)[:2000]}")
    assert not failures, "\n\n".join(failures)
