"""HTTP API of sealed records: seal, list versions, export (PDF, CSV, JSON), verify the chain,
and the inspection export (server/records/inspection.py)."""

from __future__ import annotations

import json
import tempfile
from collections.abc import Iterator
from datetime import datetime
from typing import IO, Literal

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response, StreamingResponse
from pydantic import BaseModel, Field
from sqlalchemy import select
from sqlalchemy.orm import Session

from server.core.access import STAFF, Viewer, get_visible, require
from server.core.deps import SessionDep, StoreDep, ViewerDep
from server.core.errors import ApiError, Value
from server.core.languages import LangQuery, document_language
from server.core.models import Delivery, DeliveryStatus, utcnow
from server.core.models.records import SealedRecord
from server.domain.categories import profiles
from server.domain.deliveries import operated_by
from server.records import formats, inspection, record_pdf
from server.records.sealing import latest_version, seal
from server.records.verify import verify_chain
from server.schemas.common import IdPath, IdRef, Input, Instant

router = APIRouter(prefix="/records", tags=["records"])


class RecordOut(BaseModel):
    id: int
    cooperative_id: int
    sequence: int
    delivery_id: int
    version: int
    sealed_at: datetime
    previous_hash: str
    record_hash: str
    changes: list[str]

    @classmethod
    def of(cls, record: SealedRecord) -> RecordOut:
        doc = json.loads(record.document)
        return cls(
            id=record.id,
            cooperative_id=record.cooperative_id,
            sequence=record.sequence,
            delivery_id=record.delivery_id,
            version=record.version,
            sealed_at=record.sealed_at,
            previous_hash=record.previous_hash,
            record_hash=record.record_hash,
            changes=doc.get("changes", []),
        )


class ChainOut(BaseModel):
    cooperative_id: int
    ok: bool
    checked: int
    head_hash: str
    first_bad: dict[str, int | str] | None


def visible_record(session: Session, viewer: Viewer, record_id: int) -> SealedRecord:
    """A record is visible to whoever sees its delivery (and to the cooperative's staff)."""
    record = session.get(SealedRecord, record_id)
    if record is None:
        raise ApiError(404, "not_found")
    if not viewer.has(record.cooperative_id, *STAFF):
        get_visible(session, viewer, Delivery, record.delivery_id)
    return record


@router.post("/deliveries/{delivery_id}/seal", status_code=201)
def seal_delivery(
    delivery_id: IdPath, viewer: ViewerDep, session: SessionDep, store: StoreDep, response: Response
) -> RecordOut:
    """Seal the closed delivery's record; a new version if late readings changed it
    (200 with the current version when nothing changed)."""
    delivery = operated_by(session, viewer, delivery_id)
    if delivery.status != DeliveryStatus.CLOSED:
        raise ApiError(409, "delivery_not_editable", state=Value(delivery.status))
    record = seal(session, store, delivery, profiles(), utcnow())
    session.commit()
    if record is None:
        response.status_code = 200
        record = latest_version(session, delivery.id)
        assert record is not None
    return RecordOut.of(record)


@router.get("/deliveries/{delivery_id}")
def delivery_records(
    delivery_id: IdPath, viewer: ViewerDep, session: SessionDep
) -> list[RecordOut]:
    """Every sealed version of the delivery's record, oldest first."""
    get_visible(session, viewer, Delivery, delivery_id)
    rows = session.scalars(
        select(SealedRecord)
        .where(SealedRecord.delivery_id == delivery_id)
        .order_by(SealedRecord.version)
    )
    return [RecordOut.of(r) for r in rows]


@router.get("/verify")
def verify(
    viewer: ViewerDep, session: SessionDep, cooperative_id: int = Query(ge=1, le=2**31 - 1)
) -> ChainOut:
    """Recompute the cooperative's chain; `first_bad` names the first record that does not match."""
    require(viewer.has(cooperative_id, *STAFF))
    return ChainOut(**verify_chain(session, cooperative_id).as_dict())


@router.get("/{record_id}/pdf", response_class=Response)
def record_as_pdf(
    record_id: IdPath,
    viewer: ViewerDep,
    session: SessionDep,
    request: Request,
    lang: LangQuery = None,
) -> Response:
    """The sealed record's PDF in the language asked for (`?lang=nl`), else the reader's."""
    record = visible_record(session, viewer, record_id)
    earlier = session.scalar(  # its readings tell which of this version's arrived late
        select(SealedRecord.document).where(
            SealedRecord.delivery_id == record.delivery_id,
            SealedRecord.version == record.version - 1,
        )
    )
    body = record_pdf.render(
        json.loads(record.document),
        record.record_hash,
        record.previous_hash,
        earlier=json.loads(earlier) if earlier else None,
        lang=document_language(request, lang),
    )
    return Response(body, media_type="application/pdf", headers=_attachment(record, "pdf"))


@router.get("/{record_id}/json", response_class=Response)
def record_as_json(record_id: IdPath, viewer: ViewerDep, session: SessionDep) -> Response:
    record = visible_record(session, viewer, record_id)
    return Response(
        formats.record_json(record),
        media_type="application/json",
        headers=_attachment(record, "json"),
    )


@router.get("/{record_id}/csv", response_class=StreamingResponse)
def record_as_csv(record_id: IdPath, viewer: ViewerDep, session: SessionDep) -> StreamingResponse:
    record = visible_record(session, viewer, record_id)
    return StreamingResponse(
        formats.readings_csv(json.loads(record.document)),
        media_type="text/csv; charset=utf-8",
        headers=_attachment(record, "csv"),
    )


def attachment(name: str) -> dict[str, str]:
    """The headers that make a browser save the answer as the file `name`."""
    return {"Content-Disposition": f'attachment; filename="{name}"'}


def _attachment(record: SealedRecord, extension: str) -> dict[str, str]:
    return attachment(f"livraison-{record.delivery_id}-v{record.version}.{extension}")


class InspectionIn(Input):
    start: Instant
    end: Instant
    van_ids: list[IdRef] = Field(default_factory=list, max_length=50)
    cold_room_ids: list[IdRef] = Field(default_factory=list, max_length=50)
    # The documents' language (fr, nl, en); none: the reader's (server/core/languages.py).
    lang: Literal["fr", "nl", "en"] | None = None


CHUNK = 256 * 1024


def _chunks(spool: IO[bytes]) -> Iterator[bytes]:
    try:
        spool.seek(0)
        while chunk := spool.read(CHUNK):
            yield chunk
    finally:
        spool.close()


@router.post("/inspection-export", response_class=StreamingResponse)
def inspection_export(
    body: InspectionIn, request: Request, viewer: ViewerDep, session: SessionDep, store: StoreDep
) -> StreamingResponse:
    """The AFSCA inspection export of a period for vans and cold rooms (a ZIP, see
    docs/records.md). For the cooperative's hygiene officer and admin."""
    require(bool(viewer.staff_coops))
    wanted = inspection.InspectionRequest(
        body.start,
        body.end,
        tuple(body.van_ids),
        tuple(body.cold_room_ids),
        lang=document_language(request, body.lang),
    )
    max_days = request.app.state.settings.records.max_export_days
    places = inspection.locations(session, viewer, wanted, profiles(), max_days)
    # Built on disk (bounded memory), then streamed; the file goes away when sent.
    spool = tempfile.TemporaryFile()
    try:
        inspection.export(session, store, viewer, wanted, places, profiles(), spool)
    except BaseException:
        # Broad on purpose: on any exit the temporary file goes; nothing is swallowed.
        spool.close()
        raise
    name = f"inspection-{body.start:%Y%m%d}-{body.end:%Y%m%d}.zip"
    return StreamingResponse(_chunks(spool), media_type="application/zip", headers=attachment(name))
