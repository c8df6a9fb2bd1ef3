"""agent/seal/_packc.c: chunk body version 3's packed integer groups, text tags and column checks,
compiled."""

from typing import TypeGuard

GROUP: int
NULL_TAG: int
STRING_TAG: int

def pack(out: bytearray, values: list[int], /) -> None: ...
def text_tags(
    ids: list[int], values: list[str | None], tags: dict[str | None, int], /
) -> tuple[bytes, list[int]] | None: ...
def known_columns(
    tags: bytes,
    values: list[str | None],
    mantissas: dict[str | None, int],
    strings: dict[str | None, bytes],
    by_tag: dict[int, list[int]],
    strings_out: bytearray,
    /,
) -> None: ...
def indexes(xs: object, below: int, /) -> TypeGuard[list[int]]: ...
def text_values(values: object, n: int, /) -> TypeGuard[list[str | None]]: ...
def first_places(ids: list[int], start: int, first: dict[int, int], /) -> None: ...
