"""Screenshot regions blacked out (Pillow)."""

from __future__ import annotations

import io

import pytest
from PIL import Image

from agent.errors import MaskError
from agent.mask.screenshot import mask_screenshot_regions


def _png(w: int, h: int) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (w, h), (255, 255, 255)).save(buf, format="PNG")
    return buf.getvalue()


def test_rectangles_are_black_and_the_rest_unchanged() -> None:
    """Pixels inside [x, y, w, h] become black; pixels outside stay white."""
    out = Image.open(io.BytesIO(mask_screenshot_regions(_png(40, 30), [[5, 5, 10, 4]])))
    assert out.getpixel((5, 5)) == (0, 0, 0) and out.getpixel((14, 8)) == (0, 0, 0)
    assert out.getpixel((15, 8)) == (255, 255, 255) and out.getpixel((5, 9)) == (255, 255, 255)


def test_not_an_image_is_a_mask_error() -> None:
    """Garbage in: MaskError (the caller drops the screenshot)."""
    with pytest.raises(MaskError):
        mask_screenshot_regions(b"not a png", [[0, 0, 1, 1]])


def test_screenshot_event_without_rects_is_dropped() -> None:
    """A page.screenshot carrying image data but no masked_rects keeps no image."""
    import base64

    from agent.mask.testing import build_masker
    from agent.testing import make_event

    m = build_masker()
    out = m.mask_events(
        [
            make_event(
                "page.screenshot",
                {"format": "png", "data_b64": base64.b64encode(_png(4, 4)).decode()},
            )
        ]
    )
    assert out[0].payload["data_b64"] is None and out[0].payload["masked"] == "dropped"
    assert out[1].payload["error"] == "NoMaskedRects"
