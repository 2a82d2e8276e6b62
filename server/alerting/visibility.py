"""Who sees which alert, built from server/core/access.py's rules (the one place for them):
the deliveries a user sees (staff: their cooperative's; drivers: the ones they drive),
the cold rooms they see (owners, and cooperatives they are lent to), and the lots they
see (producers: their own goods). A van alert outside any delivery is its owner's."""

from __future__ import annotations

from sqlalchemy import ColumnElement, and_, or_, select
from sqlalchemy.orm import Session

from server.core.access import (
    Viewer,
    visible_cold_rooms,
    visible_deliveries,
    visible_loads,
)
from server.core.errors import ApiError
from server.core.models import ColdRoom, Delivery, Load, Van
from server.core.models.alerts import Alert, AlertLot


def visible_alerts(viewer: Viewer) -> ColumnElement[bool]:
    deliveries = select(Delivery.id).where(visible_deliveries(viewer))
    rooms = select(ColdRoom.id).where(visible_cold_rooms(viewer))
    loads = select(Load.id).where(visible_loads(viewer))
    by_lot = select(AlertLot.alert_id).where(AlertLot.load_id.in_(loads))
    owned_vans = select(Van.id).where(Van.owner_id.in_(viewer.staff_coops))
    return or_(
        Alert.delivery_id.in_(deliveries),
        Alert.cold_room_id.in_(rooms),
        Alert.id.in_(by_lot),
        and_(Alert.delivery_id.is_(None), Alert.van_id.in_(owned_vans)),
    )


def get_visible_alert(session: Session, viewer: Viewer, alert_id: int) -> Alert:
    alert = session.scalar(select(Alert).where(Alert.id == alert_id, visible_alerts(viewer)))
    if alert is None:
        raise ApiError(404, "not_found")
    return alert
