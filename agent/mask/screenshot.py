"""Screenshot masking: black out the rectangles of masked elements.

The recorder knows where masked elements are; capture passes their rectangles (CSS pixels
times device pixel ratio, i.e. image pixels) as ``masked_rects: [[x, y, w, h], ...]`` in the
``page.screenshot`` payload. A screenshot without ``masked_rects`` is not kept (fail closed):
the agent cannot know what it shows. Text that no element rule covers (an SSN in a table cell)
is not found in images - value patterns work on text only.
"""

from __future__ import annotations

import io
from collections.abc import Sequence

from agent.errors import MaskError


def mask_screenshot_regions(
    image: bytes, rects: Sequence[Sequence[int]], fmt: str = "PNG"
) -> bytes:
    """The image with every rectangle ``[x, y, w, h]`` filled black (same format)."""
    try:
        from PIL import Image, ImageDraw
    except ImportError as exc:  # optional dependency: without it screenshots are dropped
        raise MaskError("Pillow is not installed: screenshots cannot be masked") from exc
    try:
        src = Image.open(io.BytesIO(image))
        src.load()
    except Exception as exc:
        raise MaskError(f"screenshot is not a readable image: {type(exc).__name__}") from exc
    img = src.convert("RGB")
    draw = ImageDraw.Draw(img)
    for r in rects:
        if len(r) != 4:
            raise MaskError("a masked rectangle must be [x, y, w, h]")
        x, y, w, h = (int(v) for v in r)
        if w > 0 and h > 0:
            draw.rectangle((x, y, x + w - 1, y + h - 1), fill=(0, 0, 0))
    buf = io.BytesIO()
    img.save(buf, format="JPEG" if fmt.upper() in ("JPG", "JPEG") else "PNG")
    return buf.getvalue()
