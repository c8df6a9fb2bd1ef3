"""How the viewer types an archived asset: by its bytes, never by the recorded header alone."""

from __future__ import annotations

from typing import Any

from agent.replay.assets import OCTET_STREAM, asset_headers, served_type, url_map


def test_images_and_fonts_are_typed_by_magic_number() -> None:
    assert served_type(b"\x89PNG\r\n\x1a\n...", "text/html") == "image/png"
    assert served_type(b"\xff\xd8\xff\xe0", "") == "image/jpeg"
    assert served_type(b"GIF89a..", "image/gif") == "image/gif"
    assert served_type(b"RIFF\x00\x00\x00\x00WEBPVP8 ", "image/webp") == "image/webp"
    assert served_type(b"wOF2....", "text/html") == "font/woff2"
    assert served_type(b"OTTO....", "font/otf") == "font/otf"


def test_svg_and_css_only_when_recorded_so_and_the_bytes_agree() -> None:
    svg = b'<?xml version="1.0"?>\n<!-- x --><svg xmlns="http://www.w3.org/2000/svg"/>'
    assert served_type(svg, "image/svg+xml") == "image/svg+xml"
    assert served_type(svg, "text/html") == OCTET_STREAM
    assert served_type(b"<html><svg></svg></html>", "image/svg+xml") == OCTET_STREAM
    assert served_type(b"body{color:red}", "text/css; charset=utf-8") == "text/css; charset=utf-8"
    assert served_type(b"<script>alert(1)</script>", "text/css") == OCTET_STREAM
    assert served_type(b"body{}\x00", "text/css") == OCTET_STREAM


def test_anything_else_is_an_attachment() -> None:
    assert served_type(b"<!doctype html><script>x</script>", "font/woff2") == OCTET_STREAM
    assert served_type(b"alert(1)", "application/javascript") == OCTET_STREAM
    h = asset_headers(OCTET_STREAM, "ab" * 32)
    assert h["Content-Disposition"] == f'attachment; filename="{"ab" * 32}.bin"'
    assert h["Content-Security-Policy"].startswith("sandbox;")
    assert "Content-Disposition" not in asset_headers("image/png", "ab" * 32)


def test_url_map_holds_every_recorded_url_of_an_asset() -> None:
    assets: dict[str, dict[str, Any]] = {
        "s1": {"url": "u1", "urls": ["u1", "u2"]},
        "s2": {"url": "u3"},
    }
    assert url_map(assets) == {"u1": "s1", "u2": "s1", "u3": "s2"}
