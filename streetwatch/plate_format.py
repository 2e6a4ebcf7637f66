"""Chinese motor-vehicle plate numbers: which texts are plates, normalised.

Formats (public-security standard GA 36-2018 《中华人民共和国机动车号牌》, as widely documented;
the clause numbers were not checked here, so treat the standard reference as unverified):

- regular (blue small car, yellow large vehicle, black, white): province character,
  issuing-office letter, 5 letters/digits; the last may instead be 挂 (trailer), 学 (learner),
  警 (police), 港/澳 (cross-border). 粤B12345, 京A1234警.
- new energy, small car (green): province, letter, D (battery-electric) or F (other new energy),
  a letter or digit, 4 digits. 粤BD12345.
- new energy, large vehicle (yellow-green): province, letter, 5 digits, D or F. 粤B12345D.

Letters I and O are never used (they read as 1 and 0), so an OCR `O`/`I` after the province is
read as the digit it must be. Not supported (never reported as read, whatever the OCR says):
military plates (red-lettered, e.g. a letter pair first), armed-police plates (WJ…), embassy and
consulate plates (使, 领), temporary paper plates, two-row plates read as two lines (large
vehicles' rear plates), and plates with a province character outside the 31 listed below.
"""

from __future__ import annotations

import re
from enum import StrEnum

PROVINCES = "京津沪渝冀豫云辽黑湘皖鲁新苏浙赣鄂桂甘晋蒙陕吉闽贵粤青藏川宁琼"
LETTERS = "ABCDEFGHJKLMNPQRSTUVWXYZ"  # no I, no O
_A = f"[{LETTERS}0-9]"
_P = f"[{PROVINCES}]"
_L = f"[{LETTERS}]"

_REGULAR = re.compile(f"^{_P}{_L}{_A}{{4}}(?:{_A}|[挂学警港澳])$")
_NEW_ENERGY_SMALL = re.compile(f"^{_P}{_L}[DF]{_A}[0-9]{{4}}$")
_NEW_ENERGY_LARGE = re.compile(f"^{_P}{_L}[0-9]{{5}}[DF]$")

# Separators printed on plates or read into them by OCR (the dot after the office letter).
_SEPARATORS = str.maketrans("", "", " ·•.-_:：．・")


class PlateKind(StrEnum):
    REGULAR = "regular"
    NEW_ENERGY = "new_energy"


def normalise(text: str) -> str:
    """Upper case, separators dropped, and after the province+letter `O`->`0`, `I`->`1` (never plate letters)."""
    text = text.translate(_SEPARATORS).upper()
    if len(text) > 2:
        text = text[:2] + text[2:].replace("O", "0").replace("I", "1")
    return text


def plate_kind(text: str) -> PlateKind | None:
    """The plate kind of an already normalised text; None if it is no supported plate number."""
    if _NEW_ENERGY_SMALL.match(text) or _NEW_ENERGY_LARGE.match(text):
        return PlateKind.NEW_ENERGY
    if _REGULAR.match(text):
        return PlateKind.REGULAR
    return None


def parse_plate(text: str) -> tuple[str, PlateKind] | None:
    """(normalised number, kind) for a text that is a supported plate, else None."""
    number = normalise(text)
    kind = plate_kind(number)
    return None if kind is None else (number, kind)


PLATE_PATTERN = f"^(?:{_REGULAR.pattern[1:-1]}|{_NEW_ENERGY_SMALL.pattern[1:-1]}|{_NEW_ENERGY_LARGE.pattern[1:-1]})$"
"""One regular expression for every supported plate number (the contract validates with it)."""
