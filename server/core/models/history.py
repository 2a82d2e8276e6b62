"""Former names: what a van, a zone, a cold room or an organisation was called (or a van's
plate was) until an admin changed it. A sealed record names things as they were called when
its delivery closed, so a rename afterwards changes neither that record nor a later reseal
of it (server/domain/former_names.py looks the value in force up)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from server.core.models.base import Base, IdKey


class FormerName(IdKey, Base):
    """`subject` row `subject_id`'s `field` held `value` until `until` (then the next
    change's value, or the row's current one)."""

    __tablename__ = "former_name"

    subject: Mapped[str] = mapped_column(String(20))  # van, zone, cold_room, organisation
    subject_id: Mapped[int] = mapped_column(index=True)
    field: Mapped[str] = mapped_column(String(20))  # name, plate
    value: Mapped[str] = mapped_column(String(200))
    until: Mapped[datetime]
    changed_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
