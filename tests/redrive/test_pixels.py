"""Pixel comparison on small generated pictures: the tolerance, masked boxes, pictures of
different sizes, the diff picture, and what is new since an earlier diff."""

from __future__ import annotations

from PIL import Image, ImageDraw

from agent.redrive.pixels import compare, open_png, png


def _picture(square_at: tuple[int, int] | None = None, grey: int = 255) -> Image.Image:
    img = Image.new("RGB", (20, 10), (grey, grey, grey))
    if square_at is not None:
        x, y = square_at
        ImageDraw.Draw(img).rectangle((x, y, x + 4, y + 4), fill=(0, 0, 0))
    return img


def test_identical_and_within_tolerance_are_unchanged() -> None:
    assert compare(_picture((2, 2)), _picture((2, 2)), []).ratio == 0.0
    assert compare(_picture(grey=255), _picture(grey=230), [], tolerance=30).changed == 0
    assert compare(_picture(grey=255), _picture(grey=230), [], tolerance=20).changed == 200


def test_a_square_a_pixel_or_two_away_is_unchanged_further_is_changed() -> None:
    assert compare(_picture((2, 2)), _picture((3, 3)), []).changed == 0
    assert compare(_picture((2, 2)), _picture((3, 3)), [], shift=0).changed > 0
    assert compare(_picture((2, 2)), _picture((4, 2)), []).changed > 0


def test_a_moved_square_changes_both_places_and_a_mask_hides_one() -> None:
    d = compare(_picture((2, 2)), _picture((12, 2)), [])
    assert (d.changed, d.total) == (50, 200) and d.ratio == 0.25
    masked = compare(_picture((2, 2)), _picture((12, 2)), [(0, 0, 10, 10)])
    assert (masked.changed, masked.total) == (25, 100)
    assert masked.image.getpixel((14, 4)) == (230, 0, 40)  # changed: red
    assert masked.image.getpixel((18, 8)) != (230, 0, 40)


def test_the_area_only_one_picture_has_counts_as_changed() -> None:
    wide = Image.new("RGB", (30, 10), (255, 255, 255))
    d = compare(_picture(), wide, [])
    assert (d.changed, d.total) == (100, 300)


def test_new_since_counts_only_pixels_an_earlier_diff_did_not_have() -> None:
    first = compare(_picture(), _picture((2, 2)), [])
    later = compare(
        _picture(),
        Image.composite(
            _picture((2, 2)),
            _picture((12, 2)),
            _picture((2, 2)).convert("L").point(lambda v: 255 if v < 128 else 0),
        ),
        [],
    )
    assert later.changed == 50 and later.new_since(first) == 25
    assert later.new_since(None) == 50


def test_png_round_trip() -> None:
    img = _picture((3, 3))
    assert open_png(png(img)).tobytes() == img.tobytes()


def test_new_since_follows_a_scroll_and_forgives_a_pixel_or_two() -> None:
    first = compare(_picture(), _picture((2, 5)), [])  # the square 3 px lower than...
    later = compare(_picture(), _picture((3, 2)), [])  # ...now, and 1 px to the left
    assert later.new_since(first) > 0
    assert later.new_since(first, (0, -3)) == 0
