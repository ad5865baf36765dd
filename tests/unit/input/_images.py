"""Real image files made with Pillow for the input-processing tests."""

from __future__ import annotations

import base64
import io
import random
from pathlib import Path
from typing import Any

from PIL import Image


def encode(image: Image.Image, fmt: str, **params: Any) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format=fmt, **params)
    return buffer.getvalue()


def solid(size: tuple[int, int], mode: str = "RGB", fmt: str = "PNG", **params: Any) -> bytes:
    colour: Any = {"RGB": (200, 30, 30), "RGBA": (200, 30, 30, 128), "L": 90, "1": 1}.get(mode, 0)
    return encode(Image.new(mode, size, colour), fmt, **params)


def gradient(size: tuple[int, int], fmt: str = "PNG", **params: Any) -> bytes:
    """A non-uniform RGB image (resampling artefacts would show on it)."""
    w, h = size
    image = Image.linear_gradient("L").resize(size).convert("RGB")
    image.putpixel((0, 0), (255, 0, 0))
    image.putpixel((w - 1, h - 1), (0, 0, 255))
    return encode(image, fmt, **params)


def noise(size: tuple[int, int], fmt: str = "PNG", **params: Any) -> bytes:
    """Incompressible pixels, so cutting the file short really loses image data."""
    pixels = random.Random(size[0] * 7919 + size[1]).randbytes(size[0] * size[1] * 3)
    return encode(Image.frombytes("RGB", size, pixels), fmt, **params)


def palette_with_transparency(size: tuple[int, int] = (40, 30)) -> bytes:
    """A ``P`` image whose index 0 is transparent: the left half is see-through."""
    image = Image.new("P", size, 1)
    image.putpalette([0, 0, 0, 255, 0, 0] + [0, 0, 0] * 254)
    image.paste(0, (0, 0, size[0] // 2, size[1]))
    return encode(image, "PNG", transparency=0)


def animated_gif(frames: int = 3, size: tuple[int, int] = (32, 24)) -> bytes:
    colours = [(255, 0, 0), (0, 255, 0), (0, 0, 255), (255, 255, 0)]
    images = [Image.new("RGB", size, colours[i % len(colours)]) for i in range(frames)]
    return encode(images[0], "GIF", save_all=True, append_images=images[1:], duration=50, loop=0)


def data_url(data: bytes, mime: str = "image/png") -> str:
    return f"data:{mime};base64,{base64.b64encode(data).decode('ascii')}"


def write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path
