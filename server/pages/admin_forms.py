"""The admin forms' plumbing: a form is a list of fields drawn by one template
(templates/admin/_form.html); what the user typed is turned into the API's own pydantic
schema and handed to the domain service the API's route calls too (server/domain/*.py),
so the rules are the API's. Its refusals come back next to the field they concern, in the
page's language."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from fastapi import Request
from fastapi.responses import Response
from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from server.core.errors import ApiError
from server.core.models import Organisation, Role
from server.core.validation_fr import problem
from server.domain.fleet import Seen
from server.pages import i18n
from server.pages.web import Visitor, handle_form, render, see_other

FORM = "form"  # the key of an error about the whole form (shown above the fields)


@dataclass(frozen=True)
class Field:
    name: str  # the form field, named as the schema's field (errors come back by name)
    label: str  # a word key (i18n)
    kind: str = "text"  # text, email, password, decimal, datetime-local, date, select
    required: bool = True
    options: tuple[tuple[str, str], ...] = ()  # (value, shown) of a select
    maxlength: int = 200


@dataclass
class Form:
    title: str  # a word key
    action: str
    fields: list[Field]
    submit: str  # a word key
    values: dict[str, str] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)
    # Where an API refusal is shown: its code (or "conflict") -> a field (else the form).
    field_of: dict[str, str] = field(default_factory=dict)

    @property
    def names(self) -> set[str]:
        return {f.name for f in self.fields}


def options(pairs: Iterable[tuple[object, str]]) -> tuple[tuple[str, str], ...]:
    return tuple((str(value), shown) for value, shown in pairs)


def orgs(session: Session, visit: Visitor, kind: str | None = None) -> list[Organisation]:
    """The organisations the visitor administers (the API refuses the others anyway)."""
    query = select(Organisation).where(Organisation.id.in_(visit.viewer.orgs_with(Role.ADMIN)))
    if kind is not None:
        query = query.where(Organisation.kind == kind)
    return list(session.scalars(query.order_by(Organisation.name)))


def owner(session: Session, visit: Visitor, kind: str | None = None) -> Field:
    """The « owner » select: one of the visitor's organisations."""
    return Field(
        "owner_id",
        "owner",
        "select",
        options=options((o.id, o.name) for o in orgs(session, visit, kind)),
    )


def places(seen: Seen) -> dict[str, str]:
    """Where a probe can be, as the admin pages name it: "zone-<id>" -> « van — zone » (the
    visible vans, by name) and "room-<id>" -> the cold room (visible ones, by name). The
    install form offers them; the domain's check_place refuses those the admin may not use."""
    shown = {
        f"zone-{z.id}": f"{v.name} — {z.name}" for v in seen.vans for z in seen.zones.get(v.id, [])
    }
    shown.update({f"room-{r.id}": r.name for r in seen.rooms})
    return shown


def filled(values: dict[str, str], *names: str) -> dict[str, Any]:
    """The fields the user filled in: an empty optional field is absent (its default);
    an empty required one is absent too, so the schema says « champ obligatoire »."""
    return {name: values[name] for name in names if values.get(name, "").strip()}


def errors_of(invalid: ValidationError, form: Form, lang: str) -> dict[str, str]:
    errors: dict[str, str] = {}
    for error in invalid.errors():
        loc = [str(part) for part in error.get("loc", ())]
        # memberships.0.role -> the form's "role" field; a whole-model check -> the form
        name = next((part for part in reversed(loc) if part in form.names), FORM)
        errors.setdefault(name, problem(error, lang))
    return errors


def refusal(refused: ApiError, form: Form, lang: str) -> dict[str, str]:
    where = form.field_of.get(refused.code, FORM)
    return {where: i18n.refusal(refused, lang)}


@dataclass
class Page:
    """A form page: who asks (an admin, checked when it is built), the form, the template
    (admin/form.html draws just the form) and what else the template shows."""

    session: Session
    visit: Visitor
    form: Form
    template: str = "admin/form.html"
    context: dict[str, Any] = field(default_factory=dict)


def show(request: Request, page: Page, status: int = 200) -> Response:
    return render(request, page.template, page.visit, status, form=page.form, **page.context)


async def submit(
    request: Request, build: Callable[[], Page], act: Callable[[dict[str, str], Page], str]
) -> Response:
    """Read the form, then build the page (which checks the role), call `act` (it returns
    where to go next) or show the form again with what was typed and what is wrong."""

    def handle(values: dict[str, str]) -> Response:
        lang = i18n.page_language(request)
        page = build()
        try:
            return see_other(act(values, page))
        except ValidationError as invalid:
            errors, status = errors_of(invalid, page.form, lang), 422
        except ApiError as refused:
            page.session.rollback()  # nothing half-done stays in the session
            errors, status = refusal(refused, page.form, lang), refused.status
        page.form.values, page.form.errors = values, errors
        return show(request, page, status)

    return await handle_form(request, handle)
