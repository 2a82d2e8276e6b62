"""Shared PDF building blocks (reportlab platypus): styles, tables, the page footer, and
the one gate every text goes through on its way into a PDF (`printable`).

The PDFs use the standard Helvetica family (nothing to embed or ship): its encoding is
WinAnsi, and reportlab draws a few more glyphs (→, −, ≤, Ω...) from the standard Symbol and
ZapfDingbats fonts. Any other character would be drawn as a black box (« ＋ », the narrow
no-break space Babel puts between thousands): `printable` writes it with glyphs the fonts
have, and tests/records fail on a box in any PDF or on a catalogue text the fonts cannot draw.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence
from functools import cache
from io import BytesIO
from typing import Any, BinaryIO
from xml.sax.saxutils import escape

from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle, getSampleStyleSheet
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.platypus import Flowable, Paragraph, SimpleDocTemplate, Table, TableStyle

FONT, BOLD, MONO = "Helvetica", "Helvetica-Bold", "Courier"
# What to write instead of a character the fonts lack (before trying its compatibility form).
SUBSTITUTES = {
    "\u202f": "\u00a0",  # narrow no-break space (French thousands): a no-break space
    "\u2007": "\u00a0",  # figure space
    "\u2009": " ",  # thin space
    "\u200b": "",  # zero-width space
}
MISSING = "?"  # a character with no drawable form at all

_base = getSampleStyleSheet()
TITLE = ParagraphStyle("t", parent=_base["Title"], fontSize=15, spaceAfter=6)
H2 = ParagraphStyle(
    "h2", parent=_base["Heading2"], fontSize=11.5, spaceBefore=8, spaceAfter=4, keepWithNext=1
)
BODY = ParagraphStyle("b", parent=_base["BodyText"], fontSize=8.5, leading=10.5)
SMALL = ParagraphStyle("s", parent=BODY, fontSize=7, leading=8.5)
CELL = ParagraphStyle("c", parent=BODY, fontSize=7, leading=8.2)
VERDICT_COLOURS = {
    "conforme": colors.HexColor("#d8f0d8"),
    "ecart_tolere": colors.HexColor("#fff0c2"),
    "non_conforme": colors.HexColor("#f6d0d0"),
}


@cache
def drawable(char: str, font: str = FONT) -> bool:
    """Whether reportlab draws `char` in `font` (or its Symbol / ZapfDingbats stand-ins)
    rather than a black box."""
    main = pdfmetrics.getFont(font)
    for each in (main, *main.substitutionFonts):
        try:
            char.encode(each.encName)
        except UnicodeEncodeError:
            continue
        return True
    return False


def undrawable(text: str, font: str = FONT) -> set[str]:
    """The characters of `text` the PDF fonts cannot draw."""
    return {char for char in text if not drawable(char, font)}


@cache
def _replacement(char: str) -> str:
    if char in SUBSTITUTES:
        return SUBSTITUTES[char]
    for form in ("NFKC", "NFKD"):  # ＋ -> +, ﬁ -> fi; then without accents: ŧ -> t
        text = "".join(c for c in unicodedata.normalize(form, char) if not unicodedata.combining(c))
        if text and not undrawable(text):
            return text
    return MISSING


def printable(text: str) -> str:
    """`text` with every character the PDF fonts lack written with ones they have."""
    if text.isascii():
        return text
    return "".join(c if drawable(c) else _replacement(c) for c in text)


def para(text: str, style: ParagraphStyle = BODY) -> Paragraph:
    """A paragraph of plain text (escaped: data never turns into markup)."""
    return Paragraph(escape(printable(text)), style)


def rich(markup: str, style: ParagraphStyle = BODY) -> Paragraph:
    """A paragraph of markup: every piece of data in it must already be escaped."""
    return Paragraph(printable(markup), style)


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


def build(
    out: BinaryIO | None, story: list[Flowable], title: str, footer: str, page: str = "page {n}"
) -> bytes:
    """Render the story (to `out` if given, else returned as bytes), footer on each page
    (`page`: the page number's words, {n} the number)."""
    target: BinaryIO = out if out is not None else BytesIO()
    footer = printable(footer)

    def on_page(canvas: Any, doc: Any) -> None:
        canvas.saveState()
        canvas.setFont(FONT, 6.5)
        canvas.drawString(15 * mm, 8 * mm, footer)
        canvas.drawRightString(A4[0] - 15 * mm, 8 * mm, printable(page.format(n=doc.page)))
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
