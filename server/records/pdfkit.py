"""Shared PDF building blocks (reportlab platypus): styles, tables, the page footer."""

from __future__ import annotations

from collections.abc import Sequence
from io import BytesIO
from typing import Any, BinaryIO
from xml.sax.saxutils import escape

from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle, getSampleStyleSheet
from reportlab.lib.units import mm
from reportlab.platypus import Flowable, Paragraph, SimpleDocTemplate, Table, TableStyle

_base = getSampleStyleSheet()
TITLE = ParagraphStyle("t", parent=_base["Title"], fontSize=15, spaceAfter=6)
H2 = ParagraphStyle("h2", parent=_base["Heading2"], fontSize=11.5, spaceBefore=8, spaceAfter=4)
BODY = ParagraphStyle("b", parent=_base["BodyText"], fontSize=8.5, leading=10.5)
SMALL = ParagraphStyle("s", parent=BODY, fontSize=7, leading=8.5)
CELL = ParagraphStyle("c", parent=BODY, fontSize=7, leading=8.2)
VERDICT_COLOURS = {
    "conforme": colors.HexColor("#d8f0d8"),
    "ecart_tolere": colors.HexColor("#fff0c2"),
    "non_conforme": colors.HexColor("#f6d0d0"),
}


def para(text: str, style: ParagraphStyle = BODY) -> Paragraph:
    """A paragraph of plain text (escaped: data never turns into markup)."""
    return Paragraph(escape(text), style)


def rich(markup: str, style: ParagraphStyle = BODY) -> Paragraph:
    return Paragraph(markup, style)


def table(
    header: Sequence[str] | None,
    rows: Sequence[Sequence[Any]],
    widths: Sequence[float] | None = None,
    backgrounds: Sequence[colors.Color | None] = (),
) -> Table:
    cells: list[list[Flowable]] = [[para(h, CELL) for h in header]] if header else []
    cells += [[c if isinstance(c, Flowable) else para(str(c), CELL) for c in row] for row in rows]
    result = Table(cells, colWidths=widths, repeatRows=1 if header else 0)
    style: list[Any] = [
        (
            "BACKGROUND",
            (0, 0),
            (-1 if header else 0, 0 if header else -1),
            colors.HexColor("#e4e8ef"),
        ),
        ("GRID", (0, 0), (-1, -1), 0.3, colors.grey),
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
        ("LEFTPADDING", (0, 0), (-1, -1), 2),
        ("RIGHTPADDING", (0, 0), (-1, -1), 2),
    ]
    for index, colour in enumerate(backgrounds, start=1 if header else 0):
        if colour is not None:
            style.append(("BACKGROUND", (0, index), (-1, index), colour))
    result.setStyle(TableStyle(style))
    return result


def build(out: BinaryIO | None, story: list[Flowable], title: str, footer: str) -> bytes:
    """Render the story (to `out` if given, else returned as bytes), footer on each page."""
    target: BinaryIO = out if out is not None else BytesIO()

    def on_page(canvas: Any, doc: Any) -> None:
        canvas.saveState()
        canvas.setFont("Helvetica", 6.5)
        canvas.drawString(15 * mm, 8 * mm, footer)
        canvas.drawRightString(A4[0] - 15 * mm, 8 * mm, f"page {doc.page}")
        canvas.restoreState()

    document = SimpleDocTemplate(
        target,
        pagesize=A4,
        leftMargin=15 * mm,
        rightMargin=15 * mm,
        topMargin=14 * mm,
        bottomMargin=15 * mm,
        title=title,
    )
    document.build(story, onFirstPage=on_page, onLaterPages=on_page)
    return target.getvalue() if isinstance(target, BytesIO) and out is None else b""
