"""agent/seal/_packc.c: chunk body version 3's packed integer groups, compiled."""

GROUP: int

def pack(out: bytearray, values: list[int], /) -> None: ...
