"""InputUtils (alias MultimodalUtils): the seed's multimodal message helpers."""

from __future__ import annotations

import base64
import importlib.util
import io
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import tiktoken
from PIL import Image

from inference_core.adapters.tokens import TiktokenCounter
from inference_core.compat.input_utils import InputUtils, MultimodalUtils
from inference_core.domain.errors import InvalidImageError, InvalidMessageError
from inference_core.domain.messages import ImagePart, Message
from inference_core.domain.tokens import HeuristicTokenCounter

from ._images import data_url, gradient, solid, write


def _payload(url: str) -> bytes:
    return base64.b64decode(url.partition(",")[2])


def test_multimodal_utils_is_the_same_class() -> None:
    assert MultimodalUtils is InputUtils


# --- building messages --------------------------------------------------------------------


def test_create_multimodal_message_has_the_seed_shape(tmp_path: Path) -> None:
    png = solid((64, 48))
    message = InputUtils.create_multimodal_message(
        text="What's in this image?", image_path=write(tmp_path / "photo.png", png)
    )
    assert message == {
        "role": "user",
        "content": [
            {"type": "text", "text": "What's in this image?"},
            {"type": "image_url", "image_url": {"url": data_url(png)}},
        ],
    }
    json.dumps(message)  # ready to send


def test_create_multimodal_message_with_every_image_source(tmp_path: Path) -> None:
    a = write(tmp_path / "a.png", solid((8, 8)))
    b = write(tmp_path / "b.jpg", solid((8, 8), fmt="JPEG"))
    message = InputUtils.create_multimodal_message(
        "compare",
        image_path=a,
        image_paths=[b],
        image_urls=["https://img.example/c.webp"],
        role="assistant",
        detail="low",
        images=[Image.new("RGB", (3, 3))],
    )
    assert message["role"] == "assistant"
    images = [p["image_url"] for p in message["content"][1:]]
    assert [i["detail"] for i in images] == ["low"] * 4
    assert [i["url"][:15] for i in images] == [
        "data:image/png;",
        "data:image/jpeg",
        "https://img.exa",
        "data:image/png;",
    ]


def test_create_multimodal_message_rejects_unknown_roles() -> None:
    with pytest.raises(InvalidMessageError, match="role must be one of"):
        InputUtils.create_multimodal_message("hi", role="narrator")


def test_create_multimodal_message_reports_a_missing_image(tmp_path: Path) -> None:
    with pytest.raises(InvalidImageError, match="not found"):
        InputUtils.create_multimodal_message("hi", image_path=tmp_path / "gone.png")


def test_prepare_content_from_paths_bytes_urls_and_images(tmp_path: Path) -> None:
    png, jpeg = solid((10, 10)), solid((10, 10), fmt="JPEG")
    content = InputUtils.prepare_multimodal_content(
        text="Analyze these images",
        images=[
            str(write(tmp_path / "image1.png", png)),
            jpeg,
            "http://img.example/remote.png",
            data_url(png),
            ImagePart(url="https://img.example/part.png", detail="high"),
        ],
    )
    assert content[0] == {"type": "text", "text": "Analyze these images"}
    urls = [p["image_url"]["url"] for p in content[1:]]
    assert urls == [
        data_url(png),
        data_url(jpeg, "image/jpeg"),
        "http://img.example/remote.png",
        data_url(png),
        "https://img.example/part.png",
    ]
    assert content[-1]["image_url"]["detail"] == "high"


def test_prepare_content_takes_a_single_image_and_no_text(tmp_path: Path) -> None:
    content = InputUtils.prepare_multimodal_content(images=write(tmp_path / "x.png", solid((2, 2))))
    assert [p["type"] for p in content] == ["image_url"]
    assert InputUtils.prepare_multimodal_content("only text") == [
        {"type": "text", "text": "only text"}
    ]


def test_prepare_content_can_downscale_to_control_cost() -> None:
    big = gradient((2000, 1000), fmt="JPEG")
    content = InputUtils.prepare_multimodal_content("look", [big], max_side=512)
    url = content[1]["image_url"]["url"]
    assert url.startswith("data:image/jpeg;base64,")
    assert Image.open(io.BytesIO(_payload(url))).size == (512, 256)
    before = InputUtils.count_tokens_multimodal(
        {"role": "user", "content": [{"type": "image_url", "image_url": {"url": data_url(big)}}]},
        counter=HeuristicTokenCounter(),
    )
    after = InputUtils.count_tokens_multimodal(
        {"role": "user", "content": content[1:]}, counter=HeuristicTokenCounter()
    )
    assert (before, after) == (3 + 1105, 3 + 255)


# --- reading messages ---------------------------------------------------------------------

SEED_MESSAGE: dict[str, Any] = {
    "role": "user",
    "content": [
        {"type": "text", "text": "Look at this"},
        {"type": "image_url", "image_url": {"url": data_url(solid((4, 4)))}},
        {"type": "text", "text": "and this"},
        {"type": "image_url", "image_url": {"url": "https://img.example/b.png"}},
    ],
}


def test_extract_images_and_text() -> None:
    assert InputUtils.extract_images_from_message(SEED_MESSAGE) == [
        data_url(solid((4, 4))),
        "https://img.example/b.png",
    ]
    assert InputUtils.extract_text_from_message(SEED_MESSAGE) == "Look at this\nand this"
    assert InputUtils.extract_text_from_message({"role": "user", "content": "plain"}) == "plain"
    assert InputUtils.extract_images_from_message(Message.user("plain")) == []


def test_extract_names_the_problem_in_a_malformed_message() -> None:
    with pytest.raises(InvalidMessageError, match=r"content\[0\]"):
        InputUtils.extract_text_from_message({"role": "user", "content": [{"type": "text"}]})


def test_validate_accepts_good_messages() -> None:
    assert InputUtils.validate_multimodal_message(SEED_MESSAGE) is True
    assert InputUtils.validate_multimodal_message({"role": "assistant", "content": "hi"}) is True


@pytest.mark.parametrize(
    ("message", "words"),
    [
        ({"role": "user"} | {"content": 5}, "string or a list"),
        ({"content": "x"}, "role must be"),
        ({"role": "user", "content": [{"type": "image_url", "image_url": {}}]}, "missing key"),
        (
            {"role": "user", "content": [{"type": "image_url", "image_url": {"url": "data:x"}}]},
            "data:<mime>;base64",
        ),
        (
            {
                "role": "user",
                "content": [{"type": "image_url", "image_url": {"url": data_url(b"text!")}}],
            },
            "not a PNG, JPEG, GIF or WebP",
        ),
        (
            {
                "role": "user",
                "content": [
                    {"type": "image_url", "image_url": {"url": data_url(solid((2, 2), fmt="BMP"))}}
                ],
            },
            "image/bmp is not accepted",
        ),
        (
            {
                "role": "user",
                "content": [
                    {
                        "type": "image_url",
                        "image_url": {"url": data_url(solid((2, 2)), "image/jpeg")},
                    }
                ],
            },
            "declared as image/jpeg but its bytes are image/png",
        ),
        (
            {
                "role": "user",
                "content": [
                    {"type": "image_url", "image_url": {"url": data_url(solid((2, 2))[:20])}}
                ],
            },
            "truncated or corrupt",
        ),
    ],
)
def test_validate_rejects_bad_messages(message: dict[str, Any], words: str) -> None:
    assert InputUtils.validate_multimodal_message(message) is False
    with pytest.raises((InvalidMessageError, InvalidImageError), match=words):
        InputUtils.validate_multimodal_message(message, raise_errors=True)


# --- counting tokens ----------------------------------------------------------------------


def test_count_tokens_for_one_message_and_for_a_prompt() -> None:
    message = {
        "role": "user",
        "content": [
            {"type": "text", "text": "abcdefgh"},
            {"type": "image_url", "image_url": {"url": data_url(solid((1024, 1024)))}},
            {"type": "image_url", "image_url": {"url": "https://a.example/x.png", "detail": "low"}},
        ],
    }
    heuristic = HeuristicTokenCounter()
    assert InputUtils.count_tokens_multimodal(message, counter=heuristic) == 3 + 2 + 765 + 85
    prompt = [{"role": "system", "content": "abcd"}, message]
    assert InputUtils.count_tokens_multimodal(prompt, counter=heuristic) == (3 + 1) + 855 + 3


def test_count_tokens_uses_the_models_tokenizer_when_it_can() -> None:
    byte_level = tiktoken.Encoding(
        name="bytes_test",
        pat_str=r"\S+|\s+",
        mergeable_ranks={bytes([i]): i for i in range(256)},
        special_tokens={},
    )
    counter = TiktokenCounter(load_encoding=lambda name: byte_level)
    message = {"role": "user", "content": "abcdefgh"}
    assert InputUtils.count_tokens_multimodal(message, "gpt-4o", counter=counter) == 3 + 8
    assert InputUtils.count_tokens_multimodal(message, "llama3", counter=counter) == 3 + 2


def test_count_tokens_default_counter_estimates_for_non_openai_models() -> None:
    message = {"role": "user", "content": "abcdefgh"}
    assert InputUtils.count_tokens_multimodal(message, model="claude-3-haiku-20240307") == 3 + 2


# --- import hygiene and the benchmark -----------------------------------------------------


def test_text_only_input_processing_loads_neither_pillow_nor_tiktoken() -> None:
    code = (
        "import sys, json\n"
        "import inference_core.domain.context, inference_core.domain.prompts\n"
        "import inference_core.domain.wire, inference_core.ports.tokens\n"
        "from inference_core.compat.input_utils import InputUtils\n"
        "from inference_core.compat.image_utils import ImageUtils\n"
        "InputUtils.extract_text_from_message({'role': 'user', 'content': 'hi'})\n"
        "print(json.dumps(sorted({m.split('.')[0] for m in sys.modules})))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert not {"PIL", "tiktoken"} & set(json.loads(out.stdout))


def test_benchmark_reports_rows() -> None:
    path = Path(__file__).resolve().parents[3] / "bench" / "bench_input.py"
    spec = importlib.util.spec_from_file_location("bench_input_under_test", path)
    assert spec is not None and spec.loader is not None
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    rows = bench.run(quick=True)
    assert {r["name"] for r in rows} >= {"count_tokens_multimodal", "normalise_openai"}
    for row in rows:
        assert row["messages"] == 100
        assert row["messages/s"] > 0 and row["MB/s"] > 0
