"""ImageUtils and the Pillow adapter on real image files: every method and every guard."""

from __future__ import annotations

import base64
import io
from pathlib import Path

import pytest
from PIL import Image

from inference_core.adapters.imaging import PillowImaging, to_jpeg_compatible
from inference_core.compat.image_utils import ImageUtils
from inference_core.domain.errors import InvalidImageError
from inference_core.domain.images import ImageLimits
from inference_core.domain.messages import ImagePart

from ._images import (
    animated_gif,
    data_url,
    encode,
    gradient,
    noise,
    palette_with_transparency,
    solid,
    write,
)

WHITE = (255, 255, 255)


@pytest.fixture(scope="module")
def huge_png(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """8000 x 8000 pixels (64 MP) in a few kilobytes: 1-bit and uniform."""
    path = tmp_path_factory.mktemp("huge") / "huge.png"
    Image.new("1", (8000, 8000), 0).save(path)
    return path


def _payload(url: str) -> bytes:
    header, _, payload = url.partition(",")
    assert header.endswith(";base64")
    return base64.b64decode(payload)


# --- encode_image_to_base64 -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "mime"),
    [
        (solid((20, 10)), "image/png"),
        (solid((20, 10), "RGBA"), "image/png"),
        (solid((20, 10), fmt="JPEG"), "image/jpeg"),
        (solid((20, 10), fmt="WEBP"), "image/webp"),
        (animated_gif(), "image/gif"),
        (solid((1, 1)), "image/png"),
    ],
)
def test_encode_keeps_chat_formats_byte_for_byte(tmp_path: Path, data: bytes, mime: str) -> None:
    path = write(tmp_path / "image.bin", data)
    url = ImageUtils.encode_image_to_base64(path)
    assert url.startswith(f"data:{mime};base64,")
    assert _payload(url) == data
    assert ImageUtils.encode_image_to_base64(data) == url  # bytes work the same as a path
    assert ImageUtils.encode_image_to_base64(str(path)) == url


def test_encode_sniffs_the_mime_from_bytes_not_the_file_name(tmp_path: Path) -> None:
    jpeg = solid((8, 8), fmt="JPEG")
    url = ImageUtils.encode_image_to_base64(write(tmp_path / "lies.png", jpeg))
    assert url.startswith("data:image/jpeg;base64,")


def test_encode_converts_other_formats_to_png(tmp_path: Path) -> None:
    path = write(tmp_path / "old.bmp", gradient((30, 20), fmt="BMP"))
    url = ImageUtils.encode_image_to_base64(path)
    assert url.startswith("data:image/png;base64,")
    image = Image.open(io.BytesIO(_payload(url)))
    assert (image.format, image.size) == ("PNG", (30, 20))
    with pytest.raises(InvalidImageError, match="image/bmp; chat models take PNG"):
        ImageUtils.encode_image_to_base64(path, convert_unsupported=False)


def test_encode_accepts_a_pillow_image() -> None:
    url = ImageUtils.encode_image_to_base64(Image.new("RGBA", (5, 4)))
    assert Image.open(io.BytesIO(_payload(url))).size == (5, 4)


# --- guards -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("setup", "words"),
    [
        (lambda d: d / "missing.png", "not found"),
        (lambda d: d, "not a regular file"),
        (lambda d: write(d / "notes.png", b"just some text, not pixels"), "not a recognised image"),
        (lambda d: write(d / "empty.png", b""), "is empty"),
        (lambda d: write(d / "cut.png", noise((64, 64))[:5000]), "truncated or corrupt"),
        (lambda d: write(d / "cut.jpg", noise((64, 64), fmt="JPEG")[:3000]), "truncated"),
        (lambda d: write(d / "cut.gif", animated_gif()[:40]), "truncated or corrupt"),
    ],
)
def test_every_entry_point_refuses_bad_files_with_a_clear_error(
    tmp_path: Path, setup: object, words: str
) -> None:
    path = setup(tmp_path)  # type: ignore[operator]
    for call in (
        ImageUtils.encode_image_to_base64,
        ImageUtils.get_image_info,
        lambda p: ImageUtils.resize_image(p, 16),
    ):
        with pytest.raises(InvalidImageError, match=words):
            call(path)


def test_the_error_names_the_file(tmp_path: Path) -> None:
    with pytest.raises(InvalidImageError, match=r"'.*nope\.png' not found"):
        ImageUtils.get_image_info(tmp_path / "nope.png")


def test_the_pixel_limit_refuses_huge_images_before_decoding(huge_png: Path) -> None:
    assert huge_png.stat().st_size < 100_000
    with pytest.raises(
        InvalidImageError, match="8000x8000 = 64000000 pixels; the limit is 50000000"
    ):
        ImageUtils.get_image_info(huge_png)
    with pytest.raises(InvalidImageError, match="pixels"):
        ImageUtils.decode_base64_to_image(base64.b64encode(huge_png.read_bytes()))
    with pytest.raises(InvalidImageError, match="pixels"):
        ImageUtils.resize_image(Image.new("1", (8000, 8000)), 100)


def test_the_pixel_limit_is_configurable(huge_png: Path) -> None:
    info = ImageUtils.get_image_info(huge_png, limits=ImageLimits(max_pixels=64_000_000))
    assert (info["width"], info["height"], info["mode"]) == (8000, 8000, "1")
    with pytest.raises(InvalidImageError, match="limit is 1000"):
        ImageUtils.encode_image_to_base64(solid((40, 40)), limits=ImageLimits(max_pixels=1000))


def test_the_byte_limit(tmp_path: Path) -> None:
    path = write(tmp_path / "a.png", gradient((64, 64)))
    with pytest.raises(InvalidImageError, match="bytes; the limit is 100"):
        ImageUtils.encode_image_to_base64(path, limits=ImageLimits(max_bytes=100))


# --- decode_base64_to_image -------------------------------------------------------------------


def test_decode_accepts_data_urls_bare_wrapped_and_unpadded_base64() -> None:
    data = gradient((30, 21))
    bare = base64.b64encode(data).decode()
    wrapped = "\n".join(bare[i : i + 76] for i in range(0, len(bare), 76))
    for text in (data_url(data), bare, wrapped, bare.rstrip("="), bare.encode()):
        image = ImageUtils.decode_base64_to_image(text)
        assert (image.size, image.format) == ((30, 21), "PNG")
        assert image.getpixel((0, 0)) == (255, 0, 0)  # fully decoded


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("not*base64!", "not valid base64"),
        ("", "empty"),
        ("data:image/png,abc", "data:<mime>;base64"),
        (base64.b64encode(b"hello world, not an image").decode(), "not a recognised image"),
        (data_url(noise((40, 40))[:2000]), "truncated or corrupt"),
    ],
)
def test_decode_refuses_bad_input(text: str, words: str) -> None:
    with pytest.raises(InvalidImageError, match=words):
        ImageUtils.decode_base64_to_image(text)


# --- save_base64_image ------------------------------------------------------------------------


def _leftovers(directory: Path) -> list[str]:
    return [p.name for p in directory.iterdir() if p.name.endswith(".tmp")]


def test_save_writes_the_same_bytes_atomically(tmp_path: Path) -> None:
    data = gradient((16, 16))
    target = tmp_path / "deep" / "dir" / "out.png"
    assert ImageUtils.save_base64_image(data_url(data), target) == target
    assert target.read_bytes() == data
    assert _leftovers(target.parent) == []
    assert target.stat().st_mode & 0o777 == 0o644

    newer = solid((16, 16))  # replacing an existing file
    ImageUtils.save_base64_image(base64.b64encode(newer).decode(), target)
    assert target.read_bytes() == newer


def test_save_converts_to_the_format_the_suffix_names(tmp_path: Path) -> None:
    target = ImageUtils.save_base64_image(data_url(gradient((24, 12))), tmp_path / "out.webp")
    with Image.open(target) as image:
        assert (image.format, image.size) == ("WEBP", (24, 12))


def test_saving_rgba_as_jpeg_composites_on_white(tmp_path: Path) -> None:
    rgba = Image.new("RGBA", (10, 10), (0, 0, 255, 255))
    for x in range(5):
        for y in range(10):
            rgba.putpixel((x, y), (255, 0, 0, 0))  # fully transparent red
    target = ImageUtils.save_base64_image(data_url(encode(rgba, "PNG")), tmp_path / "o.jpg")
    with Image.open(target) as image:
        assert (image.format, image.mode) == ("JPEG", "RGB")
        assert _close(image.getpixel((1, 5)), WHITE)
        assert _close(image.getpixel((8, 5)), (0, 0, 255))


def test_saving_a_transparent_palette_image_as_jpeg(tmp_path: Path) -> None:
    target = ImageUtils.save_base64_image(
        data_url(palette_with_transparency()), tmp_path / "p.jpeg"
    )
    with Image.open(target) as image:
        assert image.mode == "RGB"
        assert _close(image.getpixel((2, 15)), WHITE)
        assert _close(image.getpixel((37, 15)), (255, 0, 0))


def test_saving_an_animated_gif_as_jpeg_keeps_the_first_frame(tmp_path: Path) -> None:
    target = ImageUtils.save_base64_image(data_url(animated_gif(), "image/gif"), tmp_path / "a.jpg")
    with Image.open(target) as image:
        assert _close(image.getpixel((5, 5)), (255, 0, 0))


def test_invalid_data_writes_nothing(tmp_path: Path) -> None:
    with pytest.raises(InvalidImageError):
        ImageUtils.save_base64_image("not an image", tmp_path / "x.png")
    assert list(tmp_path.iterdir()) == []


def test_a_failed_write_leaves_no_temporary_file(tmp_path: Path) -> None:
    (tmp_path / "taken").mkdir()  # os.replace cannot put a file over a directory
    with pytest.raises(OSError):
        ImageUtils.save_base64_image(data_url(solid((2, 2))), tmp_path / "taken")
    assert _leftovers(tmp_path) == []


def _close(pixel: object, expected: tuple[int, ...], tolerance: int = 12) -> bool:
    assert isinstance(pixel, tuple)
    return all(abs(a - b) <= tolerance for a, b in zip(pixel, expected, strict=True))


# --- resize_image -----------------------------------------------------------------------------


def test_resize_keeps_the_aspect_ratio(tmp_path: Path) -> None:
    path = write(tmp_path / "wide.png", solid((1920, 1080)))
    assert ImageUtils.resize_image(path, max_size=(1024, 1024)).size == (1024, 576)
    assert ImageUtils.resize_image(path, max_size=(1000, 200)).size == (356, 200)
    assert ImageUtils.resize_image(path, 480).size == (480, 270)
    assert ImageUtils.resize_image(gradient((10, 3000)), 300).size == (1, 300)


def test_resize_never_enlarges() -> None:
    image = ImageUtils.resize_image(solid((50, 40)), max_size=(1024, 1024))
    assert image.size == (50, 40)


def test_resize_smooths_palette_and_bilevel_images() -> None:
    palette = ImageUtils.resize_image(palette_with_transparency((400, 300)), 100)
    assert (palette.mode, palette.size) == ("RGBA", (100, 75))
    bilevel = ImageUtils.resize_image(Image.new("1", (400, 200), 1), 100)
    assert (bilevel.mode, bilevel.size) == ("L", (100, 50))


def test_resize_applies_exif_orientation() -> None:
    image = Image.new("RGB", (400, 200))
    exif = image.getexif()
    exif[0x0112] = 6  # rotated 90 degrees: displayed as 200 x 400
    data = encode(image, "JPEG", exif=exif.tobytes())
    assert ImageUtils.resize_image(data, 100).size == (50, 100)


@pytest.mark.parametrize("bad", [0, -5, (10, 0)])
def test_resize_rejects_non_positive_sizes(bad: int | tuple[int, int]) -> None:
    with pytest.raises(InvalidImageError, match="max_size must be positive"):
        ImageUtils.resize_image(solid((4, 4)), bad)


# --- get_image_info ---------------------------------------------------------------------------


def test_info_matches_the_seed_shape(tmp_path: Path) -> None:
    data = solid((1920, 1080))
    info = ImageUtils.get_image_info(write(tmp_path / "shot.png", data))
    assert info == {
        "width": 1920,
        "height": 1080,
        "format": "PNG",
        "mode": "RGB",
        "bytes": len(data),
        "mime_type": "image/png",
        "frames": 1,
        "animated": False,
    }


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (animated_gif(frames=3), {"format": "GIF", "frames": 3, "animated": True}),
        (solid((1, 1), "RGBA"), {"format": "PNG", "mode": "RGBA", "width": 1, "height": 1}),
        (palette_with_transparency(), {"mode": "P", "mime_type": "image/png"}),
        (solid((9, 9), fmt="JPEG"), {"format": "JPEG", "mime_type": "image/jpeg"}),
        (solid((9, 9), fmt="WEBP"), {"format": "WEBP", "mime_type": "image/webp"}),
        (solid((9, 9), "L"), {"mode": "L"}),
    ],
)
def test_info_for_each_kind_of_image(data: bytes, expected: dict[str, object]) -> None:
    info = ImageUtils.get_image_info(data)
    assert {k: info[k] for k in expected} == expected


# --- the adapter's message-part helpers -------------------------------------------------------


def test_to_part_handles_every_source(tmp_path: Path) -> None:
    imaging = PillowImaging()
    png = gradient((60, 40))
    path = write(tmp_path / "a.png", png)
    assert imaging.to_part(path) == ImagePart(data=png, mime_type="image/png")
    assert imaging.to_part(png, detail="low").detail == "low"
    assert imaging.to_part(data_url(png)).data == png
    remote = imaging.to_part("https://img.example/cat.jpg", detail="high")
    assert remote == ImagePart(url="https://img.example/cat.jpg", detail="high")
    part = ImagePart(url=data_url(png))
    assert imaging.to_part(part) is part
    with pytest.raises(InvalidImageError):
        imaging.to_part(ImagePart(url=data_url(b"junk")))
    with pytest.raises(InvalidImageError, match="not found"):
        imaging.to_part("photo-that-does-not-exist.png")


def test_downscale_part_keeps_form_detail_and_format() -> None:
    imaging = PillowImaging()
    jpeg = gradient((2000, 1000), fmt="JPEG")
    small = imaging.downscale_part(ImagePart(data=jpeg, mime_type="image/jpeg", detail="high"), 500)
    assert (small.mime_type, small.detail) == ("image/jpeg", "high")
    assert Image.open(io.BytesIO(small.data or b"")).size == (500, 250)

    as_url = imaging.downscale_part(
        ImagePart(url=data_url(animated_gif(size=(64, 32)), "image/gif")), 16
    )
    assert as_url.url is not None and as_url.url.startswith("data:image/png;base64,")
    assert Image.open(io.BytesIO(_payload(as_url.url))).size == (16, 8)

    untouched = ImagePart(data=solid((100, 100)), mime_type="image/png")
    assert imaging.downscale_part(untouched, 768) is untouched
    remote = ImagePart(url="https://img.example/a.png")
    assert imaging.downscale_part(remote, 10) is remote


@pytest.mark.parametrize(
    ("mode", "expected"),
    [("I;16", "L"), ("I", "L"), ("CMYK", "RGB"), ("LA", "RGB"), ("1", "L"), ("RGB", "RGB")],
)
def test_jpeg_compatible_modes(mode: str, expected: str) -> None:
    converted = to_jpeg_compatible(Image.new(mode, (4, 4)))
    assert converted.mode == expected
    encode(converted, "JPEG")  # and JPEG accepts it


def test_sixteen_bit_grey_is_scaled_not_clipped() -> None:
    grey = Image.new("I;16", (2, 2), 32768)
    assert to_jpeg_compatible(grey).getpixel((0, 0)) == 128


def test_repr_shows_limits_only() -> None:
    assert "max_pixels" in repr(PillowImaging())
