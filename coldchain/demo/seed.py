"""The demo's people and places, registered through the server's HTTP API as an admin would
(so the demo exercises the same rules as real use), and the drivers' actions of the day."""

from __future__ import annotations

import json
import logging
import secrets
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from coldchain import clock
from coldchain.demo import day
from server.core import catalogue

log = logging.getLogger(__name__)
EMAIL_DOMAIN = "demo.local"
ROLE_WORDS = {
    "admin": "administrateur",
    "hygiene_officer": "responsable hygiène",
    "driver": "chauffeur",
    "producer": "producteur",
}
LANGUAGES = catalogue.LANGUAGES  # server/locale's; French first, the default
# Whoever reads Dutch in every demo, whatever its language: the Potager de la Lesse, member of
# Hesbaye's cooperative on the language border, is run by a Flemish grower. So a French demo
# also shows a Dutch user (pages, their PDFs) beside French colleagues.
DUTCH_SPEAKERS = frozenset({"producteur.potager"})
# Who signs for the goods at a handover, as the driver types it in their language
# (at a shop's drop, at a producer's pickup).
RECEIVERS = {
    "fr": ("Réceptionnaire du magasin", "Le chauffeur"),
    "nl": ("Ontvanger van de winkel", "De chauffeur"),
    "en": ("Shop receiver", "The driver"),
}


class DemoError(RuntimeError):
    """The server refused a step of the demo: its answer is in the message."""


class Api:
    """A small JSON client: the demo needs a dozen calls, not an HTTP framework."""

    def __init__(self, base_url: str, token: str | None = None, cookies: str = "") -> None:
        self.base_url = base_url.rstrip("/")
        self.token = token
        self.cookies = cookies  # the login's session cookie, for the pages' language switch

    def call(self, method: str, path: str, body: Any = None) -> Any:
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(self.base_url + path, data=data, method=method)
        request.add_header("Content-Type", "application/json")
        request.add_header("Accept-Language", "fr")
        if self.token:
            request.add_header("Authorization", f"Bearer {self.token}")
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                raw = response.read()
        except urllib.error.HTTPError as error:
            detail = error.read().decode(errors="replace")[:500]
            raise DemoError(f"{method} {path}: {error.code} {detail}") from error
        return json.loads(raw) if raw else None

    def login(self, email: str, password: str) -> Api:
        body = json.dumps({"email": email, "password": password}).encode()
        request = urllib.request.Request(
            self.base_url + "/api/v1/auth/login", data=body, method="POST"
        )
        request.add_header("Content-Type", "application/json")
        request.add_header("Accept-Language", "fr")
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                answer = json.loads(response.read())
                cookies = "; ".join(
                    c.split(";")[0] for c in response.headers.get_all("Set-Cookie") or []
                )
        except urllib.error.HTTPError as error:
            detail = error.read().decode(errors="replace")[:500]
            raise DemoError(f"POST /api/v1/auth/login: {error.code} {detail}") from error
        return Api(self.base_url, answer["access_token"], cookies)

    def choose_language(self, lang: str) -> None:
        """As the person would with the pages' switch (GET /lang/<code> while signed in): the
        server stores the choice (user_account.language), so their pages and the documents
        they export from them are in it from their next login on."""
        if not self.cookies:  # the switch would answer as usual and store nothing
            raise DemoError("POST /api/v1/auth/login: no session cookie to choose a language")
        request = urllib.request.Request(f"{self.base_url}/lang/{urllib.parse.quote(lang)}")
        request.add_header("Cookie", self.cookies)
        try:  # its answer is a redirect to the home page: not followed, not needed
            urllib.request.build_opener(_NoRedirect).open(request, timeout=30).close()
        except urllib.error.HTTPError as error:
            if error.code != 303:
                raise DemoError(f"GET /lang/{lang}: {error.code}") from error


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


@dataclass
class Person:
    email: str
    password: str
    role: str
    organisation: str  # its name
    api: Api | None = None
    language: str = "fr"  # the one they chose (their pages, the documents they export)


@dataclass
class Cast:
    """What was registered: ids by the day's keys, the people, and the day's start."""

    day_start: datetime
    ids: dict[str, int] = field(default_factory=dict)
    people: dict[str, Person] = field(default_factory=dict)  # by "<role>.<slug>"

    def at(self, minutes: float) -> datetime:
        return self.day_start + timedelta(minutes=minutes)

    def as_(self, key: str) -> Api:
        api = self.people[key].api
        assert api is not None
        return api


def _iso(t: datetime) -> str:
    return t.astimezone(UTC).isoformat()


def language_of(key: str, demo_language: str) -> str:
    """The language the person `key` ("producteur.potager") reads in a demo in `demo_language`."""
    return "nl" if key in DUTCH_SPEAKERS else demo_language


def role_name(role: str, lang: str) -> str:
    """The role in a person's name, as an admin of their language would write it (the pages'
    own word for it: « producent — Potager de la Lesse » is read in the header of their pages)."""
    return catalogue.words("pages", lang, "value")[role]


def seed(root: Api, day_start: datetime, lang: str = "fr") -> Cast:
    """Organisations, users (each with their language: `lang`, or Dutch for the Dutch
    speakers), vans and zones, cold rooms, probes, installations, deliveries."""
    cast = Cast(day_start)
    ids = cast.ids
    names = {c.key: c.name for c in day.COOPERATIVES} | {p.key: p.name for p in day.PRODUCERS}
    for c in day.COOPERATIVES:
        body: dict[str, Any] = {"name": c.name, "kind": "cooperative"}
        ids[c.key] = root.call("POST", "/api/v1/organisations", body)["id"]
    for p in day.PRODUCERS:
        body = {"name": p.name, "kind": "producer"}
        ids[p.key] = root.call("POST", "/api/v1/organisations", body)["id"]
        for coop in p.member_of:
            root.call(
                "POST", f"/api/v1/organisations/{ids[coop]}/members", {"producer_id": ids[p.key]}
            )

    def person(by: Api, key: str, org: str, role: str) -> Api:
        email = f"{key}@{EMAIL_DOMAIN}"
        password = secrets.token_urlsafe(9)  # 12 characters, printed once
        language = language_of(key, lang)
        body: dict[str, Any] = {
            "email": email,
            "full_name": f"{role_name(role, language).capitalize()} — {names[org]}",
            "password": password,
            "memberships": [{"organisation_id": ids[org], "role": role}],
        }
        by.call("POST", "/api/v1/users", body)
        api = by.login(email, password)
        api.choose_language(language)
        cast.people[key] = Person(email, password, role, names[org], api, language)
        ids[f"user:{key}"] = api.call("GET", "/api/v1/users/me")["id"]
        return api

    for c in day.COOPERATIVES:
        admin = person(root, f"admin.{c.slug}", c.key, "admin")
        person(admin, f"hygiene.{c.slug}", c.key, "hygiene_officer")
        person(admin, f"chauffeur.{c.slug}", c.key, "driver")
    slug_of = {c.key: c.slug for c in day.COOPERATIVES}
    for p in day.PRODUCERS:
        producer = person(
            cast.as_(f"admin.{slug_of[p.member_of[0]]}"), f"producteur.{p.slug}", p.key, "producer"
        )
        body = {
            "name": p.cold_room,
            "owner_id": ids[p.key],
            "category": p.category,
            "address": p.address,
        }
        ids[f"room:{p.key}"] = producer.call("POST", "/api/v1/cold-rooms", body)["id"]
        for coop in p.member_of:  # the cooperatives' staff see the rooms they pick up from
            producer.call(
                "POST",
                f"/api/v1/cold-rooms/{ids[f'room:{p.key}']}/loans",
                {"cooperative_id": ids[coop]},
            )
    for van in day.VANS:
        admin = cast.as_(f"admin.{slug_of[van.owner]}")
        body = {"name": van.name, "plate": van.plate, "owner_id": ids[van.owner]}
        ids[van.key] = admin.call("POST", "/api/v1/vans", body)["id"]
        for zone_key, zone_name in van.zones:
            kind = "thermo_box" if "surgel" in zone_key else "compartment"
            body = {"name": zone_name, "kind": kind}
            ids[zone_key] = admin.call("POST", f"/api/v1/vans/{ids[van.key]}/zones", body)["id"]
        for coop in van.pool:
            admin.call("POST", f"/api/v1/vans/{ids[van.key]}/pool", {"cooperative_id": ids[coop]})
    # Installed from the day's first minute: the alert worker counts a probe silent from its
    # installation, and the probes need the setup's remaining real seconds to boot and connect
    # (at 240x the ten-minute silence rule is 2.5 real seconds).
    installed_from = _iso(day_start)
    for probe in day.PROBES:
        if probe.owner in slug_of:
            by = cast.as_(f"admin.{slug_of[probe.owner]}")
        else:
            by = cast.as_(
                f"producteur.{next(p.slug for p in day.PRODUCERS if p.key == probe.owner)}"
            )
        body = {"probe_id": probe.probe_id, "owner_id": ids[probe.owner]}
        pk = by.call("POST", "/api/v1/probes", body)["id"]
        ids[f"probe:{probe.probe_id}"] = pk
        place = (
            {"cold_room_id": ids[f"room:{probe.place}"]}
            if probe.place.startswith("P")
            else {"zone_id": ids[probe.place]}
        )
        by.call("POST", f"/api/v1/probes/{pk}/installations", {**place, "start": installed_from})
    for delivery in day.DELIVERIES:
        plan(cast, delivery, slug_of[delivery.cooperative])
    return cast


def plan(cast: Cast, delivery: day.Delivery, slug: str) -> None:
    ids = cast.ids
    planner = cast.as_(f"hygiene.{slug}")
    departs = cast.at(delivery.depart_min)
    body: dict[str, Any] = {
        "cooperative_id": ids[delivery.cooperative],
        "van_id": ids[delivery.van],
        "driver_id": ids[f"user:chauffeur.{slug}"],
        "day": departs.astimezone(clock.zone()).date().isoformat(),
    }
    ids[delivery.key] = planner.call("POST", "/api/v1/deliveries", body)["id"]
    producers = {p.key: p for p in day.PRODUCERS}
    for stop in delivery.stops:
        if stop.kind == "pickup":
            producer = producers[stop.place]
            where = {
                "place_kind": "cold_room",
                "cold_room_id": ids[f"room:{producer.key}"],
                "place_name": producer.name,
                "address": producer.address,
            }
        else:
            where = {"place_kind": "shop", "place_name": stop.place, "address": stop.address}
        body = {"kind": stop.kind, **where, "planned_at": _iso(cast.at(stop.at_min))}
        ids[stop.key] = planner.call("POST", f"/api/v1/deliveries/{ids[delivery.key]}/stops", body)[
            "id"
        ]
    for load in delivery.loads:
        body = {
            "lot_reference": load.lot,
            "description": load.description,
            "category": load.category,
            "quantity": load.quantity,
            "unit": load.unit,
            "consignor_id": ids[load.consignor],
            "consignee": load.consignee,
            "zone_id": ids[load.zone],
            "pickup_stop_id": ids[load.pickup],
            "drop_stop_id": ids[load.drop],
        }
        ids[f"load:{load.lot}"] = planner.call(
            "POST", f"/api/v1/deliveries/{ids[delivery.key]}/loads", body
        )["id"]


@dataclass(frozen=True)
class Action:
    """One thing a driver does at a minute of the day."""

    at_min: int
    what: str  # depart | handover | close
    delivery: day.Delivery
    stop: day.Stop | None = None

    def describe(self) -> str:
        where = f" ({self.stop.key})" if self.stop else ""
        return f"{self.delivery.key} {self.what}{where}"


def actions() -> list[Action]:
    out: list[Action] = []
    for d in day.DELIVERIES:
        out.append(Action(d.depart_min, "depart", d))
        out += [Action(s.at_min, "handover", d, s) for s in d.stops]
        out.append(Action(d.close_min, "close", d))
    return sorted(out, key=lambda a: (a.at_min, a.what != "close"))


def perform(cast: Cast, action: Action) -> None:
    """The driver's call; the server stamps it with its clock (the demo's)."""
    slug = next(c.slug for c in day.COOPERATIVES if c.key == action.delivery.cooperative)
    driver = cast.as_(f"chauffeur.{slug}")
    at_shop, at_producer = RECEIVERS[cast.people[f"chauffeur.{slug}"].language]
    url = f"/api/v1/deliveries/{cast.ids[action.delivery.key]}"
    if action.what == "depart":
        zones = sorted({load.zone for load in action.delivery.loads})
        # No temperature given: the server takes each zone's newest reading (the pre-cooling).
        body: dict[str, Any] = {"zones": [{"zone_id": cast.ids[zone]} for zone in zones]}
        driver.call("POST", f"{url}/departure", body)
    elif action.what == "handover":
        assert action.stop is not None
        stop = action.stop
        mine = [
            load
            for load in action.delivery.loads
            if (load.pickup if stop.kind == "pickup" else load.drop) == stop.key
        ]
        body = {
            "receiver_name": at_shop if stop.kind == "drop" else at_producer,
            "decisions": [
                {"load_id": cast.ids[f"load:{load.lot}"], "accepted": True} for load in mine
            ],
        }
        driver.call("POST", f"{url}/stops/{cast.ids[stop.key]}/handover", body)
    else:
        driver.call("POST", f"{url}/close", {})
