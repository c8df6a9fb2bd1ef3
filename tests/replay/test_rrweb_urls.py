"""Recorded rrweb URLs pointed at the archive or removed (the offline viewer's data)."""

from __future__ import annotations

from agent.replay.rrweb_urls import OfflineUrls
from agent.rrweb import EventType

SHA = "ab" * 32
R = OfflineUrls({"https://site/a.png": SHA, "https://site/copy.png": SHA}, "assets/")


def test_every_recorded_url_of_an_archived_asset_maps_to_its_hash() -> None:
    assert R.url("https://site/a.png") == f"assets/{SHA}"
    assert R.url(" https://site/copy.png ") == f"assets/{SHA}"


def test_urls_without_an_archived_copy_become_nothing() -> None:
    for u in ("https://site/b.png", "//site/b.png", "/b.png", "b.png", "wss://site/s"):
        assert R.url(u) is None, u
    assert R.url("data:image/png;base64,AA") == "data:image/png;base64,AA"
    assert R.url("#top") == "#top"


def test_srcset_keeps_archived_candidates_only() -> None:
    assert R.srcset("https://site/x.png 1x, https://site/a.png 2x") == f"assets/{SHA} 2x"
    assert R.srcset("https://site/x.png 1x") is None


def test_css_urls_and_imports() -> None:
    css = (
        "a{background:url(https://site/a.png)} b{background:url('https://site/x.png')} "
        '@import "https://site/x.css"; @import url(https://site/a.png);'
    )
    assert R.css(css) == (
        f'a{{background:url("assets/{SHA}")}} b{{background:url("data:,")}} '
        f'/* not archived */; @import url("assets/{SHA}");'
    )


def test_walk_rewrites_attributes_styles_and_style_text_but_not_text_or_meta() -> None:
    snap = {
        "type": EventType.FULL_SNAPSHOT,
        "data": {
            "node": {
                "childNodes": [
                    {"attributes": {"src": "https://site/x.png", "alt": "https://site/x.png"}},
                    {"textContent": "see https://site/x.png", "id": 3},
                    {"textContent": "p{background:url(https://site/x.png)}", "isStyle": True},
                    {"attributes": {"http-equiv": "refresh", "content": "0;url=https://site/"}},
                ]
            }
        },
    }
    out = R.event(snap)["data"]["node"]["childNodes"]
    assert out[0]["attributes"] == {"src": None, "alt": "https://site/x.png"}
    assert out[1]["textContent"] == "see https://site/x.png"
    assert out[2]["textContent"] == 'p{background:url("data:,")}'
    assert out[3]["attributes"]["content"] is None
    mutation = {"attributes": [{"id": 1, "attributes": {"style": {"background": "url(x.png)"}}}]}
    got = R.event({"type": EventType.INCREMENTAL_SNAPSHOT, "data": mutation})
    assert got["data"]["attributes"][0]["attributes"]["style"] == {"background": 'url("data:,")'}
    meta = {"type": EventType.META, "data": {"href": "https://site/"}}
    assert R.event(meta) == meta


def test_a_link_without_an_archived_copy_stays_a_link_going_nowhere() -> None:
    """``<a>``/``<area>`` keep ``href="#"`` (drawn as the link the page showed); any other
    element's URL without a copy becomes nothing."""
    node = {
        "childNodes": [
            {"tagName": "a", "attributes": {"href": "https://site/next", "id": "l"}},
            {"tagName": "area", "attributes": {"href": "/map"}},
            {"tagName": "a", "attributes": {"xlink:href": "https://site/svg"}},
            {"tagName": "a", "attributes": {"href": "https://site/a.png"}},
            {"tagName": "link", "attributes": {"href": "https://site/x.css"}},
            {"tagName": "a", "attributes": {"id": "no-href"}},
        ]
    }
    out = R.event({"type": EventType.FULL_SNAPSHOT, "data": {"node": node}})["data"]["node"]
    attrs = [c["attributes"] for c in out["childNodes"]]
    assert attrs == [
        {"href": "#", "id": "l"},
        {"href": "#"},
        {"xlink:href": "#"},
        {"href": f"assets/{SHA}"},
        {"href": None},
        {"id": "no-href"},
    ]
