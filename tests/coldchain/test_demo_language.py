"""`coldchain demo --lang`, without a demo run: the language reaches the settings every process
of the demo reads (the site's default, the probes' displays and e-mails), each person's stored
choice (through the real server: the demo's client chooses as the pages' switch does) and
their name, and a Flemish grower reads Dutch in a French demo too. The whole demo, with the
Dutch user's pages and PDF, is tests/coldchain/test_demo.py."""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import get_args

import httpx
import pytest
from fastapi.testclient import TestClient

from coldchain.cli import build_parser
from coldchain.commands.demo import language_environment
from coldchain.demo import day, seed
from coldchain.settings import AlertingSettings, ServerSettings, load_settings
from server.app import create_app
from server.core import catalogue
from server.domain.accounts import create_superuser
from tests.alerting.support import HttpServer
from tests.harness.app import Databases, make_settings
from tests.server.world import PASSWORD


def everyone() -> list[str]:
    """The demo's people, by the keys seed.seed registers them under."""
    keys = [f"{r}.{c.slug}" for c in day.COOPERATIVES for r in ("admin", "hygiene", "chauffeur")]
    return keys + [f"producteur.{p.slug}" for p in day.PRODUCERS]


def test_the_demo_languages_are_the_catalogues_and_the_settings() -> None:
    assert seed.LANGUAGES == catalogue.LANGUAGES
    for field in (
        ServerSettings.model_fields["default_language"],
        AlertingSettings.model_fields["language"],
    ):
        assert set(get_args(field.annotation)) == set(seed.LANGUAGES)
    for lang in seed.LANGUAGES:  # a name for every role of the demo, in every language
        assert all(seed.role_name(role, lang) for role in seed.ROLE_WORDS)
    assert set(seed.RECEIVERS) == set(seed.LANGUAGES)  # what a driver types at a handover


@pytest.mark.parametrize("lang", ["fr", "nl", "en"])
def test_lang_reaches_the_settings_of_every_process(
    lang: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    args = build_parser().parse_args(["demo", "--lang", lang])
    for name in list(os.environ):
        if name.startswith("COLDCHAIN_"):
            monkeypatch.delenv(name)
    for name, value in language_environment(args.lang).items():
        monkeypatch.setenv(name, value)
    settings = load_settings()  # as the broker, gateway, worker and server read them
    assert settings.server.default_language == lang
    assert settings.alerting.language == lang


def test_the_demo_is_french_unless_asked_and_refuses_an_unknown_language(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert build_parser().parse_args(["demo"]).lang == "fr"
    with pytest.raises(SystemExit) as refused:
        build_parser().parse_args(["demo", "--lang", "de"])
    assert refused.value.code == 2
    assert "--lang" in capsys.readouterr().err


def test_every_person_reads_the_demo_language_but_the_flemish_grower_reads_dutch() -> None:
    people = everyone()
    assert "producteur.potager" in people and seed.DUTCH_SPEAKERS <= set(people)
    for lang in seed.LANGUAGES:
        chosen = {key: seed.language_of(key, lang) for key in people}
        assert {k for k, v in chosen.items() if v != lang} == (
            set() if lang == "nl" else set(seed.DUTCH_SPEAKERS)
        )
        assert all(chosen[k] == "nl" for k in seed.DUTCH_SPEAKERS)
    # Their names are written in their language (the pages show them in the header); the
    # French ones are the printed credentials' words.
    assert seed.role_name("producer", "nl") == "producent"
    assert all(seed.role_name(r, "fr") == word for r, word in seed.ROLE_WORDS.items())


def test_the_demo_client_chooses_a_language_that_the_next_login_follows(
    tmp_path: Path, databases: Databases
) -> None:
    """seed.Api on the real app over HTTP: the choice is stored, so the person's next sign-in
    through the pages' form (a new browser, no cookie) is in Dutch."""
    url = databases.fresh_sqlite(tmp_path / "coldchain.sqlite3")
    app = create_app(make_settings(url, tmp_path))
    with TestClient(app):  # the lifespan: migrations, state
        with app.state.sessionmaker() as session:
            create_superuser(
                session, app.state.password_hasher, "root@example.be", "Root", PASSWORD
            )
        server = HttpServer(app)
        try:
            seed.Api(server.url).login("root@example.be", PASSWORD).choose_language("nl")
            with httpx.Client(base_url=server.url, timeout=10) as browser:
                form = browser.get("/login").text
                token = re.search(r'name="csrf" value="([^"]+)"', form)
                assert token is not None
                body = {"email": "root@example.be", "password": PASSWORD, "csrf": token[1]}
                page = browser.post("/login", data=body, follow_redirects=True).text
        finally:
            server.stop()
    dutch, french = catalogue.words("pages", "nl"), catalogue.words("pages", "fr")
    assert dutch["logout"] in page and french["logout"] not in page, page[:1000]
    databases.drop(url)
