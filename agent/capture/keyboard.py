"""CDP key events for a character or a chord such as ``Control+A`` (US layout)."""

from __future__ import annotations

from typing import Any

# key -> (code, windows virtual key code, text it types)
_SPECIAL: dict[str, tuple[str, int, str]] = {
    "Enter": ("Enter", 13, "\r"),
    "Tab": ("Tab", 9, ""),
    "Backspace": ("Backspace", 8, ""),
    "Escape": ("Escape", 27, ""),
    "Delete": ("Delete", 46, ""),
    "End": ("End", 35, ""),
    "ArrowLeft": ("ArrowLeft", 37, ""),
    "ArrowRight": ("ArrowRight", 39, ""),
    "ArrowUp": ("ArrowUp", 38, ""),
    "ArrowDown": ("ArrowDown", 40, ""),
    "Control": ("ControlLeft", 17, ""),
    "Shift": ("ShiftLeft", 16, ""),
    "Alt": ("AltLeft", 18, ""),
    "Meta": ("MetaLeft", 91, ""),
}
_MODIFIER_BITS = {"Alt": 1, "Control": 2, "Meta": 4, "Shift": 8}
_PUNCT = {
    " ": ("Space", 32),
    ".": ("Period", 190),
    ",": ("Comma", 188),
    "-": ("Minus", 189),
    "=": ("Equal", 187),
    "/": ("Slash", 191),
    ";": ("Semicolon", 186),
    "'": ("Quote", 222),
}


def _describe(key: str) -> tuple[str, int, str]:
    if key in _SPECIAL:
        return _SPECIAL[key]
    if len(key) != 1:
        raise ValueError(f"unknown key {key!r}")
    if key.isascii() and key.isalpha():
        return f"Key{key.upper()}", ord(key.upper()), key
    if key.isdigit():
        return f"Digit{key}", ord(key), key
    code, vk = _PUNCT.get(key, ("", 0))
    return code, vk, key


def key_events(chord: str) -> list[dict[str, Any]]:
    """``Input.dispatchKeyEvent`` parameters to press and release ``chord``.

    A chord is keys joined by ``+`` (``Control+A``); the last is pressed while the others
    are held. With a modifier other than Shift held, no text is typed (a shortcut).
    """
    keys = [chord] if chord == "+" else chord.split("+")
    *mods, last = keys
    bits = 0
    out: list[dict[str, Any]] = []
    for m in mods:
        code, vk, _ = _describe(m)
        bits |= _MODIFIER_BITS.get(m, 0)
        out.append(_ev("rawKeyDown", m, code, vk, bits))
    key = last.lower() if mods and len(last) == 1 and "Shift" not in mods else last
    code, vk, text = _describe(key)
    if bits & ~_MODIFIER_BITS["Shift"]:
        text = ""
    down = _ev("keyDown" if text else "rawKeyDown", key, code, vk, bits)
    if text:
        down.update(text=text, unmodifiedText=text)
    if key == "a" and bits == _MODIFIER_BITS["Control"]:
        down["commands"] = ["selectAll"]
    out.append(down)
    out.append(_ev("keyUp", key, code, vk, bits))
    for m in reversed(mods):
        code, vk, _ = _describe(m)
        bits &= ~_MODIFIER_BITS.get(m, 0)
        out.append(_ev("keyUp", m, code, vk, bits))
    return out


def _ev(kind: str, key: str, code: str, vk: int, bits: int) -> dict[str, Any]:
    return {
        "type": kind,
        "key": key,
        "code": code,
        "windowsVirtualKeyCode": vk,
        "nativeVirtualKeyCode": vk,
        "modifiers": bits,
    }
