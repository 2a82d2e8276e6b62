"""Server-sent events per user: each alert history entry the user may see, as it is
written (by the worker, in this process or another, or by the API). Read from the
alert_entry table, so it works across processes and resumes with Last-Event-ID."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from typing import Annotated, Any

from fastapi import APIRouter, Header, Request
from fastapi.responses import StreamingResponse
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker
from starlette.concurrency import run_in_threadpool

from server.alerting.outbox import summary
from server.alerting.visibility import visible_alerts
from server.core.access import Viewer
from server.core.deps import ViewerDep
from server.core.models.alerts import Alert, AlertEntry

router = APIRouter(prefix="/alerts", tags=["alerts"])
KEEPALIVE_S = 15.0


def _fetch(factory: sessionmaker[Session], viewer: Viewer, after: int) -> list[dict[str, Any]]:
    with factory() as session:
        rows = session.execute(
            select(AlertEntry, Alert)
            .join(Alert, Alert.id == AlertEntry.alert_id)
            .where(AlertEntry.id > after, visible_alerts(viewer))
            .order_by(AlertEntry.id)
            .limit(200)
        ).all()
        return [
            {
                "id": entry.id,
                "kind": entry.kind,
                "at": entry.at.isoformat(),
                "alert": summary(alert),
            }
            for entry, alert in rows
        ]


def _newest(factory: sessionmaker[Session]) -> int:
    with factory() as session:
        return int(session.scalar(select(func.max(AlertEntry.id))) or 0)


# Not in the OpenAPI document: an endless stream cannot be described there, and API fuzzers
# (tests/server/test_openapi_fuzz.py) would wait on it forever. Documented in
# docs/alert-lifecycle.md.
@router.get("/stream", response_class=StreamingResponse, include_in_schema=False)
async def stream(
    request: Request,
    viewer: ViewerDep,
    last_event_id: Annotated[str | None, Header()] = None,
) -> StreamingResponse:
    """`text/event-stream` of the alerts the caller may see (event `alert`, data JSON with
    the entry kind — opened, escalated, acknowledged, closed... — and the alert summary)."""
    factory: sessionmaker[Session] = request.app.state.sessionmaker
    poll = request.app.state.settings.alerting.sse_poll_s
    if last_event_id is not None and last_event_id.isdigit() and len(last_event_id) < 12:
        after = int(last_event_id)
    else:
        after = await run_in_threadpool(_newest, factory)

    async def events() -> AsyncIterator[str]:
        nonlocal after
        yield "retry: 2000\n\n"
        quiet_since = time.monotonic()
        while not await request.is_disconnected():
            for item in await run_in_threadpool(_fetch, factory, viewer, after):
                after = item["id"]
                data = json.dumps(item, ensure_ascii=False)
                yield f"id: {item['id']}\nevent: alert\ndata: {data}\n\n"
                quiet_since = time.monotonic()
            if time.monotonic() - quiet_since > KEEPALIVE_S:
                yield ": keep-alive\n\n"
                quiet_since = time.monotonic()
            await asyncio.sleep(poll)

    return StreamingResponse(
        events(),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
    )
