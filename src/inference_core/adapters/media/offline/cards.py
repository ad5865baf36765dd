"""Cards drawn with Pillow: the prompt's text on colours derived from the prompt.

Everything is a pure function of its arguments: colours and decoration come
from the SHA-256 of a seed string (never ``hash()``, which changes per
process), the font is Pillow's bundled one, so the same prompt gives the same
pixels - and the same encoded bytes - on every run with the same Pillow.
"""

from __future__ import annotations

import colorsys
import hashlib
import re
from functools import lru_cache

from PIL import Image, ImageDraw, ImageFont, ImageOps

from inference_core.adapters.media.offline._shared import HEX_COLOUR_PATTERN

__all__ = ["CardColours", "card_colours", "draw_card", "parse_hex_colour"]

RGB = tuple[int, int, int]
_HEX = re.compile(HEX_COLOUR_PATTERN)
_Font = ImageFont.FreeTypeFont | ImageFont.ImageFont


class CardColours:
    """Background, accent and text colours of a card."""

    __slots__ = ("accent", "background", "text")

    def __init__(self, background: RGB, accent: RGB, text: RGB) -> None:
        self.background = background
        self.accent = accent
        self.text = text

    @staticmethod
    def hex(colour: RGB) -> str:
        """``#rrggbb`` of ``colour``."""
        return "#{:02x}{:02x}{:02x}".format(*colour)


def parse_hex_colour(value: str) -> RGB:
    """``(r, g, b)`` of ``#RGB`` / ``#RRGGBB`` (``#`` optional).

    Raises:
        ValueError: ``value`` is not a hex colour.
    """
    match = _HEX.match(value.strip())
    if match is None:
        raise ValueError(f"{value!r} is not a hex colour (#RRGGBB)")
    digits = match.group(1)
    if len(digits) == 3:
        digits = "".join(c * 2 for c in digits)
    return (int(digits[0:2], 16), int(digits[2:4], 16), int(digits[4:6], 16))


def _luminance(colour: RGB) -> float:
    r, g, b = (c / 255 for c in colour)
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def _hsv(hue: float, saturation: float, value: float) -> RGB:
    r, g, b = colorsys.hsv_to_rgb(hue % 1.0, saturation, value)
    return (round(r * 255), round(g * 255), round(b * 255))


def card_colours(seed: str, background: str | None = None) -> CardColours:
    """The colours of ``seed``'s card (``background`` overrides the derived one)."""
    digest = hashlib.sha256(seed.encode("utf-8")).digest()
    hue = int.from_bytes(digest[0:2], "big") / 65536
    saturation = 0.45 + digest[2] / 255 * 0.35
    value = 0.35 + digest[3] / 255 * 0.45
    base = parse_hex_colour(background) if background else _hsv(hue, saturation, value)
    accent_hue = hue + 0.5 + (digest[4] / 255 - 0.5) * 0.2
    accent = _hsv(accent_hue, 0.65, 0.9 if _luminance(base) < 0.5 else 0.45)
    text: RGB = (250, 250, 250) if _luminance(base) < 0.55 else (20, 20, 24)
    return CardColours(base, accent, text)


@lru_cache(maxsize=32)
def _font(size: int) -> _Font:
    return ImageFont.load_default(size=size)


def _text_width(draw: ImageDraw.ImageDraw, text: str, font: _Font) -> float:
    return float(draw.textlength(text, font=font))


def _wrap(draw: ImageDraw.ImageDraw, text: str, font: _Font, width: float) -> list[str]:
    """Greedy word wrap to ``width`` pixels; words wider than a line are broken."""
    lines: list[str] = []
    for paragraph in text.splitlines() or [""]:
        line = ""
        for word in paragraph.split():
            candidate = f"{line} {word}" if line else word
            if _text_width(draw, candidate, font) <= width:
                line = candidate
                continue
            if line:
                lines.append(line)
                line = ""
            while _text_width(draw, word, font) > width and len(word) > 1:
                cut = len(word) - 1
                while cut > 1 and _text_width(draw, word[:cut], font) > width:
                    cut -= 1
                lines.append(word[:cut])
                word = word[cut:]
            line = word
        lines.append(line)
    while lines and not lines[-1]:
        lines.pop()
    return lines


def _fit_text(
    draw: ImageDraw.ImageDraw, text: str, box: tuple[int, int, int, int]
) -> tuple[list[str], _Font, int]:
    """Lines, font and line height that fit ``text`` into ``box`` (shrinking, then eliding)."""
    left, top, right, bottom = box
    width, height = right - left, bottom - top
    size = max(10, min(width, height * 2) // 11)
    while True:
        font = _font(size)
        line_height = round(size * 1.25)
        lines = _wrap(draw, text, font, width)
        if len(lines) * line_height <= height or size <= 12:
            break
        size = max(12, round(size * 0.85))
    fitting = max(1, height // line_height)
    if len(lines) > fitting:
        lines = lines[:fitting]
        last = lines[-1]
        while last and _text_width(draw, last + "...", font) > width:
            last = last[:-1]
        lines[-1] = last.rstrip() + "..."
    return lines, font, line_height


def draw_card(
    text: str,
    width: int,
    height: int,
    *,
    seed: str | None = None,
    background: str | None = None,
    picture: Image.Image | None = None,
    inset: float = 0.0,
) -> Image.Image:
    """An RGB card of ``width`` x ``height`` showing ``text`` (and ``picture``, when given).

    Args:
        text: The text drawn, wrapped (and shrunk or elided to fit).
        width: Card width in pixels.
        height: Card height in pixels.
        seed: What the colours and decoration derive from (default: ``text``).
        background: A hex colour replacing the derived background.
        picture: An image scaled (aspect kept) into the card's upper part, or
            the whole card when there is no text.
        inset: Extra space kept free of text on every side, as a fraction of
            the card's width / height (a video pans and zooms over the card:
            its text must stay in the part every frame shows).
    """
    seed = text if seed is None else seed
    colours = card_colours(seed, background)
    digest = hashlib.sha256(("decor\x00" + seed).encode("utf-8")).digest()
    card = Image.new("RGBA", (width, height), (*colours.background, 255))
    overlay = Image.new("RGBA", (width, height), (0, 0, 0, 0))
    decor = ImageDraw.Draw(overlay)
    short = min(width, height)
    for i in range(4):
        cx = digest[i * 3] / 255 * width
        cy = digest[i * 3 + 1] / 255 * height
        radius = (0.15 + digest[i * 3 + 2] / 255 * 0.35) * short
        decor.ellipse(
            (cx - radius, cy - radius, cx + radius, cy + radius),
            fill=(*colours.accent, 34 + 10 * i),
        )
    bar = max(2, height // 40)
    decor.rectangle((0, height - bar, width, height), fill=(*colours.accent, 220))
    card = Image.alpha_composite(card, overlay)

    margin = max(4, short // 16)
    text_top = margin
    if picture is not None:
        picture_bottom = height - margin if not text.strip() else round(height * 0.62)
        area = (max(1, width - 2 * margin), max(1, picture_bottom - margin))
        fitted = ImageOps.contain(picture.convert("RGBA"), area, Image.Resampling.LANCZOS)
        x = (width - fitted.width) // 2
        y = margin + (area[1] - fitted.height) // 2
        card.alpha_composite(fitted, (x, y))
        text_top = picture_bottom + margin // 2
    if text.strip():
        draw = ImageDraw.Draw(card)
        inset_x, inset_y = round(width * inset), round(height * inset)
        box = (
            margin + inset_x,
            max(text_top, margin + inset_y),
            width - margin - inset_x,
            height - margin - bar - inset_y,
        )
        if box[3] - box[1] >= 10 and box[2] - box[0] >= 10:
            lines, font, line_height = _fit_text(draw, text.strip(), box)
            block = len(lines) * line_height
            y = box[1] + max(0, (box[3] - box[1] - block) // 2)
            for line in lines:
                line_width = _text_width(draw, line, font)
                x = round(box[0] + (box[2] - box[0] - line_width) / 2)
                draw.text((x, y), line, font=font, fill=(*colours.text, 255))
                y += line_height
    return card.convert("RGB")
