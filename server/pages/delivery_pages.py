"""(being written) Pages router: see server/pages/app.py."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(include_in_schema=False)
