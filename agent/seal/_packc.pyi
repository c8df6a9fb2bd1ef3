"""agent/seal/_packc.c: chunk body version 3's packed integer groups and text tags, compiled."""

GROUP: int

def pack(out: bytearray, values: list[int], /) -> None: ...
def text_tags(
    ids: list[int], values: list[str | None], tags: dict[str | None, int], /
) -> bytes | None: ...
