"""The fixed zstd dictionary of chunk body version 3."""

from __future__ import annotations

import functools

import zstandard

# The zstd dictionary of every version 3 body (raw content, fixed with the version: changing
# one byte of it is a new version). Record skeletons as the canonical JSON writes them, the
# most frequent last (zstd prefers near matches): a chunk's first record then costs its
# values, not its keys (-30 % of a live grid's JSON part).
ZSTD_DICT = (
    b'{"kind":"session.start","payload":{"agent_version":"","previous_session":null,'
    b'"record_class":"default","user":"","workstation":""},"seq":0,"t_mono_ns":1,"t_utc_ns":17'
    b'{"kind":"page.created","page":"","payload":{"browser_context":"","opener":null,'
    b'"target_type":"page","url":"about:blank"},"seq":1,"t_mono_ns":1,"t_utc_ns":17,"v":1}'
    b'{"frame":"","kind":"page.navigate","page":"","payload":{"main_frame":true,'
    b'"mime":"text/html","parent_frame":null,"transition":"typed","type":"Navigation",'
    b'"url":"https://"},"seq":2,"t_mono_ns":1,"t_utc_ns":17,"v":1}'
    b'{"frame":"","kind":"net.request","page":"","payload":{"cause":null,"headers":{'
    b'"User-Agent":"Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) '
    b'Chrome/","sec-ch-ua-mobile":"?0","sec-ch-ua-platform":"\\"Linux\\""},"initiator":{'
    b'"type":"other"},"method":"GET","raw_headers":{"Accept":"text/html,application/xhtml+xml,'
    b'application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8","Accept-Encoding":"gzip, deflate, '
    b'br, zstd","Accept-Language":"en-US,en;q=0.9"},"request_id":"","resource_type":"Fetch",'
    b'"url":"https://"},"seq":3,"t_mono_ns":1,"t_utc_ns":17,"v":1}'
    b'{"frame":"","kind":"net.response","page":"","payload":{"body":"","headers":{'
    b'"content-type":"application/json","content-length":"","date":""},"mime":"application/json",'
    b'"request_id":"","status":200,"url":"https://"},"seq":4,"t_mono_ns":1,"t_utc_ns":17,"v":1}'
    b'{"kind":"page.title","page":"","payload":{"title":"","url":"https://"},"seq":5,'
    b'{"frame":"","kind":"rrweb.meta","page":"","payload":{"data":{"height":800,"href":"https://",'
    b'"width":1280},"timestamp":17,"type":4},"seq":6,"t_mono_ns":1,"t_utc_ns":17,"v":1}'
    b'{"frame":"","kind":"capture.heartbeat","page":"","payload":{"batches":20,"dropped":0,'
    b'"mutations":41,"nodes":273,"version":"0.3.1","work_us":86100},"seq":7,"t_mono_ns":1,'
    b'"t_utc_ns":17,"v":1}'
    b'{"frame":"","kind":"rrweb.mouse_interaction","page":"","payload":{"data":{"id":20,'
    b'"source":2,"type":5},"timestamp":17,"type":3},"seq":8,"t_mono_ns":1,"t_utc_ns":17,"v":1}'
    b'{"frame":"","kind":"rrweb.input","page":"","payload":{"data":{"id":20,"isChecked":false,'
    b'"source":5,"text":""},"element":{"css":"input#","element_id":"","form":"","name":"",'
    b'"name_from":"label","node_id":20,"region":"","role":"textbox","tag":"input","test_id":""},'
    b'"timestamp":17,"type":3},"seq":9,"t_mono_ns":1,"t_utc_ns":17,"v":1}'
    b'{"frame":"","kind":"rrweb.input","page":"","payload":{"data":{"id":20,"isChecked":false,'
    b'"source":5,"text":""},"timestamp":17,"type":3},"seq":10,"t_mono_ns":1,"t_utc_ns":17,"v":1}'
    b'[{"frame":"","kind":"rrweb.mutation","page":"","payload":{"data":{"adds":[],'
    b'"attributes":[],"removes":[],"source":0,"texts":[]},"timestamp":17,"type":3},"seq":11,'
    b'"t_mono_ns":1,"t_utc_ns":17,"v":1},{"frame":"","kind":"rrweb.mutation","page":"",'
    b'"payload":{"data":{"adds":[],"attributes":0,"removes":[],"source":0,"texts":0},'
    b'"timestamp":17,"type":3},"seq":12,"t_mono_ns":1,"t_utc_ns":17,"v":1}'
)


@functools.cache
def zstd_dict() -> zstandard.ZstdCompressionDict:
    """:data:`ZSTD_DICT` as zstd takes it (built once per process)."""
    return zstandard.ZstdCompressionDict(ZSTD_DICT, dict_type=zstandard.DICT_TYPE_RAWCONTENT)


def for_version(version: int) -> zstandard.ZstdCompressionDict | None:
    """The dictionary bodies of chunk ``version`` are compressed against (None before 3)."""
    return zstd_dict() if version >= 3 else None
