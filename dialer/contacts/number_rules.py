"""phonenumbers.is_valid_number for a country code and national number, compiled once
per country code: the same rules from the same metadata, without the library's work
per call (metadata lookups, a pattern cache lookup per check, building a PhoneNumber).

is_valid_number(n) is: the region the number belongs to (the only one of its calling
code; else the first whose leading digits match, or, for regions without leading
digits, the first where the number has a type), then whether it has a type there: it
matches the region's general pattern and one of the type patterns (premium rate, toll
free, shared cost, VoIP, personal, pager, UAN, voicemail, fixed line, mobile), each
tried only when the number's length is among the type's possible lengths. The property
test in tests/unit/test_numbers.py checks it against the library on random numbers.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

import phonenumbers
from phonenumbers import COUNTRY_CODE_TO_REGION_CODE, PhoneMetadata

_NON_GEO = "001"
_TYPES = (
    "premium_rate", "toll_free", "shared_cost", "voip", "personal_number", "pager", "uan",
    "voicemail", "fixed_line", "mobile",
)  # fmt: skip

_Desc = tuple[frozenset[int], re.Pattern[str]]


@dataclass(frozen=True)
class _Region:
    leading_digits: re.Pattern[str] | None
    general: _Desc | None
    types: tuple[_Desc, ...]

    def has_type(self, national: str) -> bool:
        """phonenumbers' _number_type_helper(national, metadata) != UNKNOWN."""
        return _matches(self.general, national) and any(_matches(d, national) for d in self.types)


def is_valid(code: int, national: str) -> bool:
    """phonenumbers.is_valid_number(PhoneNumber(code, int(national))) for a national
    number without leading zeros."""
    candidates = _regions(code)
    if not candidates:
        return False
    if len(candidates) == 1:
        chosen: _Region | None = candidates[0]
    else:
        chosen = None
        for region in candidates:
            if region.leading_digits is not None:
                if region.leading_digits.match(national):
                    chosen = region
                    break
            elif region.has_type(national):
                chosen = region
                break
    return chosen is not None and chosen.has_type(national)


def _matches(desc: _Desc | None, national: str) -> bool:
    if desc is None:
        return False
    lengths, pattern = desc
    if lengths and len(national) not in lengths:
        return False
    return pattern.fullmatch(national) is not None


@lru_cache(maxsize=512)
def _regions(code: int) -> tuple[_Region, ...]:
    """The calling code's regions in the library's order; empty when no region could
    make a number of this code valid."""
    names = COUNTRY_CODE_TO_REGION_CODE.get(code, ())
    if len(names) == 1:
        # One region: validated against the region's (or the non-geographic code's) data.
        name = names[0]
        metadata = PhoneMetadata.metadata_for_region_or_calling_code(code, name.upper())
        if metadata is None:
            return ()
        if name != _NON_GEO and code != phonenumbers.country_code_for_valid_region(name):
            return ()
        return (_compiled(metadata),)
    found = []
    for name in names:
        metadata = PhoneMetadata.metadata_for_region(name.upper(), None)
        if metadata is None:
            continue  # the library skips it too
        if code != metadata.country_code:
            raise ValueError(f"phonenumbers metadata: region {name} is not +{code}")
        found.append(_compiled(metadata))
    return tuple(found)


def _compiled(metadata: PhoneMetadata) -> _Region:
    kinds = [
        k for k in _TYPES if not (k == "mobile" and metadata.same_mobile_and_fixed_line_pattern)
    ]
    leading = metadata.leading_digits
    return _Region(
        leading_digits=re.compile(leading) if leading is not None else None,
        general=_desc(metadata.general_desc),
        types=tuple(d for k in kinds if (d := _desc(getattr(metadata, k))) is not None),
    )


def _desc(desc: phonenumbers.PhoneNumberDesc | None) -> _Desc | None:
    if desc is None or not desc.national_number_pattern:
        return None  # the library's match is False for it
    return frozenset(desc.possible_length or ()), re.compile(desc.national_number_pattern)
