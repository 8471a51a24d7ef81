"""JLAC10 and JLAC11 code values: parsing, validation and segment names.

JLAC10 (17 digits): analyte 5, identification 4, material 3, method 3, result identification 2.
The first 15 digits are the order code. Local extensions written by some health-check software
put ``Z`` inside the code; they are accepted and flagged (``is_local``), never rejected.

JLAC11 (17 characters): measured object 5 (leading letter), identification 4, material 3,
method/product 3, result unit 2.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

JLAC10_SEGMENTS: tuple[tuple[str, int, int, str], ...] = (
    ("analyte", 0, 5, "分析物コード"),
    ("identification", 5, 9, "識別コード"),
    ("material", 9, 12, "材料コード"),
    ("method", 12, 15, "測定法コード"),
    ("result", 15, 17, "結果識別コード"),
)
JLAC11_SEGMENTS: tuple[tuple[str, int, int, str], ...] = (
    ("measured_object", 0, 5, "測定物コード"),
    ("identification", 5, 9, "識別コード"),
    ("material", 9, 12, "材料コード"),
    ("method", 12, 15, "測定法コード"),
    ("unit", 15, 17, "結果単位コード"),
)

_J10_STRICT = re.compile(r"[0-9][0-9A-Z]{4}[0-9]{12}")
_J10_LOOSE = re.compile(r"[0-9A-Z]{15}(?:[0-9A-Z]{2})?")
_J11 = re.compile(r"[A-Z][0-9A-Z]{4}[0-9]{4}[0-9]{3}[0-9A-Z]{3}[0-9A-Z]{2}")


class JlacCodeError(ValueError):
    """A code that is not a well-formed JLAC10 / JLAC11 value. The message says why."""


def _clean(value: str) -> str:
    if not isinstance(value, str):
        raise JlacCodeError(f"code must be a string, got {type(value).__name__}")
    out = value.strip().upper().replace("-", "").replace(" ", "")
    # full-width digits/letters
    return out.translate({c: c - 0xFEE0 for c in range(0xFF10, 0xFF5B)})


@dataclass(frozen=True, slots=True)
class Jlac10Code:
    """A JLAC10 code: 17 characters, or a 15-character order code (``result`` empty)."""

    analyte: str
    identification: str
    material: str
    method: str
    result: str = ""

    @classmethod
    def parse(cls, value: str) -> Jlac10Code:
        code = _clean(value)
        if len(code) not in (15, 17):
            raise JlacCodeError(
                f"JLAC10 code must have 17 characters (or 15 for an order code), got {len(code)}"
            )
        if not _J10_LOOSE.fullmatch(code):
            bad = next(ch for ch in code if not ch.isascii() or not ch.isalnum())
            raise JlacCodeError(f"JLAC10 code has an invalid character {bad!r}")
        full = code if len(code) == 17 else code + "00"
        if "Z" not in code and not _J10_STRICT.fullmatch(full):
            for name, start, end, _ja in JLAC10_SEGMENTS:
                seg = full[start:end]
                if name != "analyte" and not seg.isdigit():
                    raise JlacCodeError(f"JLAC10 {name} segment {seg!r} must be digits")
            raise JlacCodeError("JLAC10 analyte segment must start with a digit")
        return cls(code[0:5], code[5:9], code[9:12], code[12:15], code[15:17])

    @property
    def is_order_code(self) -> bool:
        return self.result == ""

    @property
    def is_local(self) -> bool:
        """True for local ``Z`` extensions (e.g. JMA 特定健診 software codes)."""
        return "Z" in str(self)

    @property
    def order_code(self) -> str:
        return self.analyte + self.identification + self.material + self.method

    def with_result(self, result: str) -> Jlac10Code:
        if not re.fullmatch(r"[0-9A-Z]{2}", result):
            raise JlacCodeError("result identification must be 2 characters")
        return Jlac10Code(self.analyte, self.identification, self.material, self.method, result)

    def segments(self) -> dict[str, str]:
        return {name: str(self)[s:e] for name, s, e, _ in JLAC10_SEGMENTS if e <= len(str(self))}

    def __str__(self) -> str:
        return self.order_code + self.result


@dataclass(frozen=True, slots=True)
class Jlac11Code:
    """A JLAC11 code: 17 characters."""

    measured_object: str
    identification: str
    material: str
    method: str
    unit: str

    @classmethod
    def parse(cls, value: str) -> Jlac11Code:
        code = _clean(value)
        if len(code) != 17:
            raise JlacCodeError(f"JLAC11 code must have 17 characters, got {len(code)}")
        if not _J11.fullmatch(code):
            if not code[0].isalpha():
                raise JlacCodeError("JLAC11 measured object must start with a letter")
            for name, start, end, _ja in JLAC11_SEGMENTS:
                seg = code[start:end]
                if not re.fullmatch(r"[0-9A-Z]+", seg):
                    raise JlacCodeError(f"JLAC11 {name} segment {seg!r} has invalid characters")
                if name in ("identification", "material") and not seg.isdigit():
                    raise JlacCodeError(f"JLAC11 {name} segment {seg!r} must be digits")
            raise JlacCodeError("JLAC11 code is malformed")
        return cls(code[0:5], code[5:9], code[9:12], code[12:15], code[15:17])

    @property
    def is_order_code(self) -> bool:
        return self.unit == "00"

    @property
    def is_user_defined(self) -> bool:
        """Identification 0901-0999 is reserved for user-defined (non-standard) codes."""
        return "0901" <= self.identification <= "0999"

    def segments(self) -> dict[str, str]:
        return {name: str(self)[s:e] for name, s, e, _ in JLAC11_SEGMENTS}

    def __str__(self) -> str:
        return self.measured_object + self.identification + self.material + self.method + self.unit


def is_jlac10(value: str) -> bool:
    try:
        return len(str(Jlac10Code.parse(value))) == 17
    except JlacCodeError:
        return False


def is_jlac11(value: str) -> bool:
    try:
        Jlac11Code.parse(value)
        return True
    except JlacCodeError:
        return False
