"""The page's address as a QR code in the terminal, to open it on a phone by scanning.

segno (pure Python, no dependencies, maintained) makes the code. It is drawn with half-block
characters, two modules a character cell: in colour, black on white whatever the terminal's
own colours (``qr_text``); without colour (a pipe, ``NO_COLOR``), light modules as blocks, which
reads right on a dark terminal (``qr_plain``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from rich.text import Text


def _rows(text: str) -> list[list[bool]] | None:
    """The code's modules (True: dark) with a quiet zone of 2, an even number of rows."""
    try:
        import segno
    except ImportError:
        return None
    qr = segno.make(text, error="m", micro=False)
    rows = [[bool(v) for v in row] for row in qr.matrix_iter(scale=1, border=2)]
    if len(rows) % 2:
        rows.append([False] * len(rows[0]))
    return rows


def qr_plain(text: str) -> str | None:
    """``text`` as a QR code in plain characters, for a dark background (None without segno)."""
    rows = _rows(text)
    if rows is None:
        return None
    glyph = {(False, False): "█", (True, False): "▄", (False, True): "▀", (True, True): " "}
    return "\n".join(
        "".join(glyph[(a, b)] for a, b in zip(top, bottom, strict=True))
        for top, bottom in zip(rows[::2], rows[1::2], strict=True)
    )


def qr_text(text: str) -> Text | None:
    """``text`` as a QR code in black and white half blocks (None without segno)."""
    from rich.text import Text

    rows = _rows(text)
    if rows is None:
        return None
    out = Text()
    for i, (top, bottom) in enumerate(zip(rows[::2], rows[1::2], strict=True)):
        if i:
            out.append("\n")
        for a, b in zip(top, bottom, strict=True):
            out.append("▀", style=f"{'black' if a else 'bright_white'} on {'black' if b else 'bright_white'}")
    return out
