"""HTTP API of a producer's extract of a sealed delivery record (their lots only,
server/records/producer_extract.py), as JSON or as a French PDF.

Who: the producer of the lots, and the record's cooperative's staff (server/core/access.py,
`extract_producers`). A record without any lot of the caller answers 404 like a record
that does not exist; the delivery's driver, who sees the whole record, gets 403 (the
extract is not theirs); a producer asking for another producer's extract of a record that
carries their own lots gets 403.
"""

from __future__ import annotations

import json
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse, Response
from sqlalchemy.orm import Session

from server.api.records import attachment, visible_record
from server.core.access import Viewer, extract_producers
from server.core.deps import SessionDep, ViewerDep
from server.core.errors import ApiError, phrase
from server.core.languages import LangQuery, document_language
from server.core.models.records import SealedRecord
from server.records import producer_pdf
from server.records.producer_extract import Seal, consignors_of, extract
from server.schemas.common import IdPath

router = APIRouter(prefix="/records", tags=["records"])

ProducerQuery = Annotated[
    int | None,
    Query(ge=1, le=2**31 - 1, description="The producer organisation (needed when several)"),
]
FormatQuery = Annotated[Literal["json", "pdf"], Query(alias="format")]

NEEDS_PRODUCER = phrase("needs_producer")


def producer_extract_of(
    session: Session, viewer: Viewer, record_id: int, producer_id: int | None
) -> tuple[SealedRecord, dict[str, Any]]:
    """The record and the viewer's extract of it, or the refusal (404 / 403 / 422)."""
    record = session.get(SealedRecord, record_id)
    if record is None:
        raise ApiError(404, "not_found")
    doc = json.loads(record.document)
    consignors = consignors_of(session, doc)
    allowed = extract_producers(viewer, record.cooperative_id, consignors.values())
    if not allowed:
        visible_record(session, viewer, record_id)  # 404 unless they see the record at all
        raise ApiError(403, "forbidden")
    if producer_id is None:
        if len(allowed) > 1:
            raise ApiError(422, "validation_error", detail=NEEDS_PRODUCER)
        producer_id = next(iter(allowed))
    elif producer_id not in consignors.values():
        raise ApiError(404, "not_found")  # no lot of that producer in this record
    elif producer_id not in allowed:
        raise ApiError(403, "forbidden")
    return record, extract(doc, Seal.of(record), producer_id, consignors)


def _pdf(record: SealedRecord, content: dict[str, Any], lang: str) -> Response:
    body = producer_pdf.render(content, lang=lang)
    name = f"livraison-{record.delivery_id}-v{record.version}-producteur-{content['producer_id']}"
    return Response(body, media_type="application/pdf", headers=attachment(f"{name}.pdf"))


@router.get("/{record_id}/producer-extract", response_model=None)
def producer_extract(
    record_id: IdPath,
    viewer: ViewerDep,
    session: SessionDep,
    request: Request,
    producer_id: ProducerQuery = None,
    fmt: FormatQuery = "json",
    lang: LangQuery = None,
) -> Response:
    """A producer's extract of the sealed record: their lots, the stops where they were
    picked up and dropped, temperatures while on board, verdicts, the alerts about them,
    and the record's id, version and hash to check it against the cooperative's chain.
    `?format=pdf` for the PDF (`?lang=nl`: in Dutch; else the reader's language)."""
    record, content = producer_extract_of(session, viewer, record_id, producer_id)
    if fmt == "pdf":
        return _pdf(record, content, document_language(request, lang))
    return JSONResponse(content)


@router.get("/{record_id}/producer-extract.pdf", response_class=Response)
def producer_extract_pdf(
    record_id: IdPath,
    viewer: ViewerDep,
    session: SessionDep,
    request: Request,
    producer_id: ProducerQuery = None,
    lang: LangQuery = None,
) -> Response:
    """The producer's extract as a PDF (`?lang=nl`: in Dutch; else the reader's language)."""
    record, content = producer_extract_of(session, viewer, record_id, producer_id)
    return _pdf(record, content, document_language(request, lang))
