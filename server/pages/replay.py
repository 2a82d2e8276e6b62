"""A page form sent with an idempotency key (server/core/idempotency.py): done once, and a
second sending of the key by the same user answers as the first did (303 to the same page,
header X-Replayed) and records nothing. Used by the forms a driver may fill with no signal:
the alert's acknowledgement and corrective action, the departure check, the handover
(server/pages/alert_pages.py, delivery_pages.py); static/offline.js queues and replays them."""

from __future__ import annotations

import logging
from collections.abc import Callable

from fastapi import Request
from fastapi.responses import Response
from sqlalchemy.orm import Session

from server.core import idempotency
from server.pages.web import render, see_other, visitor

log = logging.getLogger(__name__)

Handle = Callable[[dict[str, str]], Response]


def once(request: Request, session: Session, handle: Handle) -> Handle:
    """`handle` (what the form does with its values) made idempotent by the key field."""

    def handle_once(values: dict[str, str]) -> Response:
        key = values.pop(idempotency.FIELD, "")
        if not key:  # a form sent the ordinary way (no script): as before
            return handle(values)
        visit = visitor(request, session)
        if not idempotency.valid(key):
            log.warning("form %s: malformed idempotency key refused", request.url.path)
            return render(request, "refused.html", visit, 400, word="offline_key_bad")
        path = request.url.path
        earlier = idempotency.claim(session, visit.user.id, key, path)
        if earlier is not None:
            if earlier.location is None or earlier.path != path:  # under way, or another form's
                return render(request, "refused.html", visit, 409, word="offline_key_taken")
            replayed = see_other(earlier.location)
            replayed.headers["X-Replayed"] = "1"
            return replayed
        # Raised (the 403/404 pages, a crash): the key stays claimed and unfinished, so a
        # later sending is told it is taken (server/core/idempotency.py ABANDONED frees it).
        # Giving it back here would commit or expire what the failed work left in the session.
        response = handle(values)
        if response.status_code == 303:  # done: the form's pages answer a success so
            idempotency.done(session, visit.user.id, key, response.headers["location"])
        else:  # refused (conflict, invalid): nothing recorded, the key may be used again
            idempotency.give_back(session, visit.user.id, key)
        return response

    return handle_once
