"""Who is told about an alert, level by level (escalation: driver -> the cooperative's
hygiene officer -> its admin). The producers whose goods were affected are told at once."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from server.core.models import Delivery, Membership, Organisation, OrganisationKind, Role, User
from server.core.models.alerts import Alert, AlertLot

TOP_LEVEL = 2


def _users(session: Session, org_ids: set[int], roles: tuple[str, ...]) -> list[User]:
    if not org_ids:
        return []
    return list(
        session.scalars(
            select(User)
            .join(Membership, Membership.user_id == User.id)
            .where(
                Membership.organisation_id.in_(org_ids),
                Membership.role.in_(roles),
                User.is_active.is_(True),
            )
            .distinct()
            .order_by(User.id)
        )
    )


def affected_producers(session: Session, alert: Alert) -> set[int]:
    producers = set(
        session.scalars(select(AlertLot.consignor_id).where(AlertLot.alert_id == alert.id))
    )
    if alert.owner_id is not None:
        owner = session.get(Organisation, alert.owner_id)
        if owner is not None and owner.kind == OrganisationKind.PRODUCER:
            producers.add(owner.id)
    return producers


def at_level(session: Session, alert: Alert, level: int) -> list[User]:
    """Level 0: the driver (van) or the cold room's producer, and affected producers;
    1: the cooperative's hygiene officers; 2: its admins."""
    coops = {alert.cooperative_id} if alert.cooperative_id is not None else set()
    if level == 0:
        users: list[User] = []
        if alert.delivery_id is not None:
            delivery = session.get(Delivery, alert.delivery_id)
            driver = session.get(User, delivery.driver_id) if delivery else None
            if driver is not None and driver.is_active:
                users.append(driver)
        users += _users(session, affected_producers(session, alert), (Role.PRODUCER,))
        if not users:  # nobody on the spot: the hygiene officer is the first to know
            users = _users(session, coops, (Role.HYGIENE_OFFICER,))
        return _unique(users)
    if level == 1:
        return _users(session, coops, (Role.HYGIENE_OFFICER,))
    return _users(session, coops, (Role.ADMIN,))


def up_to(session: Session, alert: Alert, level: int) -> list[User]:
    users: list[User] = []
    for n in range(level + 1):
        users += at_level(session, alert, n)
    return _unique(users)


def _unique(users: list[User]) -> list[User]:
    seen: set[int] = set()
    out = []
    for user in users:
        if user.id not in seen:
            seen.add(user.id)
            out.append(user)
    return out
