"""A horizontal bar chart as a PNG (pure: texts and numbers in, bytes out).

Pillow is imported on first use only: the bot draws a chart when a coordinator asks for
statistics, and should not carry the library in memory before that. The text is set in DejaVu
Sans or Liberation Sans where the system has them (Debian: fonts-dejavu-core); Pillow's own font
has no umlauts, so with it they are spelled out (ä → ae).
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from PIL.ImageFont import FreeTypeFont, ImageFont

WIDTH = 960
MARGIN = 24
ROW = 26
BAR = 18
GROUP_GAP = 14
TEXT_SIZE = 15
TITLE_SIZE = 22
COLOURS = ("#1f5f99", "#2e8540", "#8a4f9e", "#b35900")
FONTS = ("DejaVuSans.ttf", "LiberationSans-Regular.ttf")
SPELLED_OUT = str.maketrans({"ä": "ae", "ö": "oe", "ü": "ue", "Ä": "Ae", "Ö": "Oe", "Ü": "Ue", "ß": "ss"})
INK = "#222222"
FAINT = "#888888"


@dataclass(frozen=True)
class Group:
    """A heading and its bars: (label, value) in the order to draw them."""

    heading: str
    bars: Sequence[tuple[str, int]]


@dataclass(frozen=True)
class Chart:
    png: bytes
    width: int
    height: int


def bar_chart(title: str, groups: Sequence[Group]) -> Chart:
    """The groups one below the other, each with its own colour; every bar is labelled with its
    value (0 shows as an empty row with its label, so what is missing is seen too)."""
    from PIL import Image, ImageDraw

    text, system = _font(TEXT_SIZE)
    heading, _ = _font(TITLE_SIZE - 4)
    big, _ = _font(TITLE_SIZE)
    if not system:
        title = title.translate(SPELLED_OUT)
        groups = [
            Group(g.heading.translate(SPELLED_OUT), [(x.translate(SPELLED_OUT), v) for x, v in g.bars]) for g in groups
        ]
    rows = sum(len(g.bars) for g in groups)
    height = MARGIN * 2 + TITLE_SIZE + GROUP_GAP + len(groups) * (TITLE_SIZE + GROUP_GAP) + rows * ROW
    image = Image.new("RGB", (WIDTH, height), "white")
    draw = ImageDraw.Draw(image)
    labels = [label for g in groups for label, _ in g.bars]
    label_width = max((draw.textlength(label, font=text) for label in labels), default=0) + 12
    largest = max((value for g in groups for _, value in g.bars), default=0) or 1
    room = WIDTH - MARGIN * 2 - label_width - 48
    draw.text((MARGIN, MARGIN), title, font=big, fill=INK)
    y = MARGIN + TITLE_SIZE + GROUP_GAP
    for number, group in enumerate(groups):
        colour = COLOURS[number % len(COLOURS)]
        draw.text((MARGIN, y), group.heading, font=heading, fill=colour)
        y += TITLE_SIZE + GROUP_GAP // 2
        for label, value in group.bars:
            draw.text((MARGIN, y + 2), label, font=text, fill=INK)
            left = MARGIN + label_width
            length = round(room * value / largest)
            if length:
                draw.rectangle((left, y + (ROW - BAR) // 2, left + length, y + (ROW + BAR) // 2), fill=colour)
            draw.text((left + length + 6, y + 2), str(value), font=text, fill=INK if value else FAINT)
            y += ROW
        y += GROUP_GAP // 2
    out = io.BytesIO()
    image.save(out, format="PNG", optimize=True)
    return Chart(out.getvalue(), WIDTH, height)


def _font(size: int) -> tuple[FreeTypeFont | ImageFont, bool]:
    """A font of the system with umlauts (True), else Pillow's own (False)."""
    from PIL import ImageFont

    for name in FONTS:
        try:
            return ImageFont.truetype(name, size), True
        except OSError:
            continue
    return ImageFont.load_default(size=size), False
