"""Pixel comparison of two screenshots of the same moment: the original (the recording,
rendered by the rrweb replayer) and the re-driven page.

A pixel differs when one of its colour channels differs by more than the tolerance (font
anti-aliasing and colour rounding stay under it) from the other picture's pixel at the same
place and at every place up to ``SHIFT`` pixels away. Masked boxes (regions whose text an
``--ignore`` pattern matches) are left out of both the count and the total. Pictures of
different sizes are compared on their common area; the rest of the larger one counts as
changed. The diff picture is the re-driven page faded, changed pixels in red, masked boxes
outlined in blue.
"""

from __future__ import annotations

import io
from dataclasses import dataclass

from PIL import Image, ImageChops, ImageDraw, ImageFilter

TOLERANCE = 48
"""A pixel differs when a channel differs by more than this (0-255)."""

SHIFT = 1
"""A pixel that matches the other picture this many pixels away, in any direction, has not
changed (a centred layout lands a pixel apart when heights differ by two)."""

NEAR = 2
"""A changed pixel this close to one changed at the previous step is not new."""

Box = tuple[int, int, int, int]
"""``(left, top, right, bottom)`` in CSS pixels of the page, right and bottom exclusive."""

_RED = (230, 0, 40)
_BLUE = (40, 90, 230)


@dataclass(frozen=True)
class PixelDiff:
    """How much of the compared area changed, and the picture that shows where."""

    changed: int  # pixels over the tolerance (plus the area only one picture has)
    total: int  # pixels compared (the larger picture's area, masked boxes left out)
    image: Image.Image
    changed_mask: Image.Image  # mode L: 255 where a pixel changed

    def new_since(self, before: PixelDiff | None, shift: tuple[int, int] = (0, 0)) -> int:
        """Changed pixels that were not changed, give or take :data:`NEAR` pixels, in
        ``before`` (a diff of the same page at an earlier step, whose content sits ``shift``
        pixels from where it is now - the page scrolled in between); all of them when there
        is none or its size differs."""
        if before is None or before.changed_mask.size != self.changed_mask.size:
            return self.changed
        was = Image.new("L", self.changed_mask.size, 0)
        was.paste(before.changed_mask.filter(ImageFilter.MaxFilter(2 * NEAR + 1)), shift)
        return _count(ImageChops.subtract(self.changed_mask, was))

    @property
    def ratio(self) -> float:
        """Changed pixels over compared pixels (0.0 when nothing was compared)."""
        return self.changed / self.total if self.total else 0.0


def _mask(size: tuple[int, int], boxes: list[Box]) -> Image.Image:
    """A mode ``L`` picture: 255 inside the masked boxes, 0 elsewhere."""
    m = Image.new("L", size, 0)
    draw = ImageDraw.Draw(m)
    for left, top, right, bottom in boxes:
        if right > left and bottom > top:
            draw.rectangle((left, top, right - 1, bottom - 1), fill=255)
    return m


def _over(diff: Image.Image, tolerance: int) -> Image.Image:
    """A mode ``L`` picture: 255 where any channel of ``diff`` exceeds ``tolerance``."""
    r, g, b = diff.split()
    top = ImageChops.lighter(ImageChops.lighter(r, g), b)
    return top.point(lambda v: 255 if v > tolerance else 0)


def _count(img: Image.Image) -> int:
    """Pixels at 255 in a two-valued mode ``L`` picture."""
    return img.histogram()[255]


def _unmatched(a: Image.Image, b: Image.Image, tolerance: int, shift: int) -> Image.Image:
    """Pixels of ``a`` that no pixel of ``b`` within ``shift`` pixels matches."""
    out = _over(ImageChops.difference(a, b), tolerance)
    for dx in range(-shift, shift + 1):
        for dy in range(-shift, shift + 1):
            if dx or dy:
                moved = _over(ImageChops.difference(a, ImageChops.offset(b, dx, dy)), tolerance)
                out = ImageChops.darker(out, moved)
    return out


def _over_shifted(a: Image.Image, b: Image.Image, tolerance: int, shift: int) -> Image.Image:
    """Pixels where either picture has something the other has nowhere within ``shift``
    pixels (the same page laid out a pixel lower has no such pixel; a renamed word does)."""
    return ImageChops.lighter(
        _unmatched(a, b, tolerance, shift), _unmatched(b, a, tolerance, shift)
    )


def compare(
    original: Image.Image,
    redriven: Image.Image,
    masks: list[Box],
    tolerance: int = TOLERANCE,
    shift: int = SHIFT,
) -> PixelDiff:
    """Compare two pictures pixel by pixel, leaving ``masks`` out."""
    a, b = original.convert("RGB"), redriven.convert("RGB")
    w, h = max(a.width, b.width), max(a.height, b.height)
    cw, ch = min(a.width, b.width), min(a.height, b.height)
    changed = Image.new("L", (w, h), 255)  # outside the common area: changed
    common = (0, 0, cw, ch)
    changed.paste(_over_shifted(a.crop(common), b.crop(common), tolerance, shift), (0, 0))
    masked = _mask((w, h), masks)
    changed = ImageChops.subtract(changed, masked)
    total = w * h - _count(masked)
    n = _count(changed)
    return PixelDiff(n, total, _picture(b, (w, h), changed, masks), changed)


def _picture(
    redriven: Image.Image, size: tuple[int, int], changed: Image.Image, masks: list[Box]
) -> Image.Image:
    """The re-driven page faded to grey, changed pixels red, masked boxes outlined."""
    base = Image.new("RGB", size, (255, 255, 255))
    faded = Image.blend(redriven.convert("L").convert("RGB"), Image.new("RGB", redriven.size,
                        (255, 255, 255)), 0.6)  # fmt: skip
    base.paste(faded, (0, 0))
    base.paste(Image.new("RGB", size, _RED), (0, 0), changed)
    draw = ImageDraw.Draw(base)
    for left, top, right, bottom in masks:
        if right > left and bottom > top:
            draw.rectangle((left, top, right - 1, bottom - 1), outline=_BLUE)
    return base


def png(img: Image.Image) -> bytes:
    """A picture as PNG bytes."""
    buf = io.BytesIO()
    img.save(buf, "PNG", optimize=True)
    return buf.getvalue()


def open_png(data: bytes) -> Image.Image:
    """PNG (or JPEG) bytes as a loaded RGB picture."""
    with Image.open(io.BytesIO(data)) as img:
        return img.convert("RGB")
