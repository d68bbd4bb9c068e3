"""Numbers, money and dates written out as words, for a text-to-speech voice.

    spell_number(21, "ru", gender="f")        -> "двадцать одна"
    spell_money(Decimal("21000"), "ru")       -> "двадцать одна тысяча рублей"
    spell_money(Decimal("2.01"), "ru")        -> "два рубля одна копейка"
    spell_money(Decimal("0.01"), "ru")        -> "одна копейка"
    spell_date(date(2026, 3, 1), "ru")        -> "первого марта"
    spell_digits("1207", "ru")                -> "один два ноль семь"

A voice reads "21000 рублей" as it likes (espeak-ng says "двадцать одна тысяча" but
"2 рубля" and "1 марта" without the case the phrase needs); spelled out here, the words
are already in the right gender and case. Cardinals and ordinals come from num2words
(its Russian knows gender and case); the agreement of the counted noun (рубль, рубля,
рублей) is the plural rule below. Pure functions: no I/O, nothing logged.
"""

from __future__ import annotations

import re
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Literal

from num2words import num2words

Gender = Literal["m", "f", "n"]
LANGUAGES = ("ru", "en")
MAX_NUMBER = 10**15 - 1  # "999 trillion": beyond that a value is not an amount anyone says

_RU_MONTHS = (
    "января", "февраля", "марта", "апреля", "мая", "июня",
    "июля", "августа", "сентября", "октября", "ноября", "декабря",
)  # fmt: skip
_EN_MONTHS = (
    "January", "February", "March", "April", "May", "June",
    "July", "August", "September", "October", "November", "December",
)  # fmt: skip
_RU_DIGITS = ("ноль", "один", "два", "три", "четыре", "пять", "шесть", "семь", "восемь", "девять")
_EN_DIGITS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")
# The three Russian forms of a counted noun: 1 (and 21, 101...), 2-4 (22-24...), 5-20 and 0.
_RUBLE = ("рубль", "рубля", "рублей")
_KOPECK = ("копейка", "копейки", "копеек")
_EN_RUBLE = ("ruble", "rubles")
_EN_KOPECK = ("kopeck", "kopecks")
_YEAR = ("года",)


class SpellError(ValueError):
    """A value cannot be said as the type asks (not a number, not a date, too large)."""


def ru_plural_form(n: int) -> int:
    """Which of the three Russian noun forms follows the number n: 0 (рубль), 1 (рубля),
    2 (рублей)."""
    n = abs(n)
    if 11 <= n % 100 <= 14:
        return 2
    last = n % 10
    if last == 1:
        return 0
    if 2 <= last <= 4:
        return 1
    return 2


def spell_number(n: int, language: str, gender: Gender = "m") -> str:
    """A whole number as words; in Russian, the last group agrees with the gender of the
    noun that follows ("одна копейка", "две тысячи один рубль")."""
    _check_language(language)
    if abs(n) > MAX_NUMBER:
        raise SpellError(f"{n} is too large to be said")
    if n < 0:
        minus = "минус" if language == "ru" else "minus"
        return f"{minus} {spell_number(-n, language, gender)}"
    if language == "en":
        return str(num2words(n, lang="en")).replace(",", "")
    # num2words applies the gender to every group ("одна миллион"): only the units take it.
    high, low = n - n % 1000, n % 1000
    if low == 0 or gender == "m":
        return str(num2words(n, lang="ru"))
    low_words = str(num2words(low, lang="ru", gender=gender))
    return low_words if high == 0 else f"{num2words(high, lang='ru')} {low_words}"


def spell_digits(text: str, language: str) -> str:
    """Every digit of text said on its own; anything else in it is dropped."""
    _check_language(language)
    names = _RU_DIGITS if language == "ru" else _EN_DIGITS
    return " ".join(names[int(c)] for c in text if c.isdecimal() and c.isascii())


def spell_money(amount: Decimal, language: str) -> str:
    """An amount in rubles (and kopecks), the noun agreeing with the number."""
    _check_language(language)
    sign = "минус " if amount < 0 and language == "ru" else "minus " if amount < 0 else ""
    cents = int((abs(amount) * 100).to_integral_value())
    rubles, kopecks = divmod(cents, 100)
    words = [] if rubles == 0 and kopecks else [_counted(rubles, language, _RUBLE, _EN_RUBLE, "m")]
    if kopecks:
        words.append(_counted(kopecks, language, _KOPECK, _EN_KOPECK, "f"))
    return sign + " ".join(words)


def spell_date(day: date, language: str, year: bool = False) -> str:
    """A date as said in a sentence: "первого марта" ("... две тысячи двадцать шестого
    года" with year), "March first" ("March first, twenty twenty-six")."""
    _check_language(language)
    if language == "ru":
        said = f"{num2words(day.day, lang='ru', to='ordinal', case='genitive', gender='n')} "
        said += _RU_MONTHS[day.month - 1]
        if year:
            ordinal = num2words(day.year, lang="ru", to="ordinal", case="genitive", gender="m")
            said += f" {ordinal} {_YEAR[0]}"
        return said
    said = f"{_EN_MONTHS[day.month - 1]} {num2words(day.day, lang='en', to='ordinal')}"
    if year:
        said += f", {num2words(day.year, lang='en', to='year')}"
    return said


def _counted(
    n: int, language: str, ru: tuple[str, str, str], en: tuple[str, str], g: Gender
) -> str:
    if language == "ru":
        return f"{spell_number(n, 'ru', g)} {ru[ru_plural_form(n)]}"
    return f"{spell_number(n, 'en')} {en[0] if n == 1 else en[1]}"


def _check_language(language: str) -> None:
    if language not in LANGUAGES:
        raise SpellError(f"numbers are spelled in {', '.join(LANGUAGES)}, not {language!r}")


# --- reading values as they come from a spreadsheet ------------------------------------


def parse_amount(value: str) -> Decimal:
    """'21 000', '1 500,75', '1500.75', '-3' -> Decimal; SpellError otherwise."""
    cleaned = re.sub(r"[\s\u00a0\u202f']", "", value)
    if cleaned.count(",") == 1 and "." not in cleaned:
        cleaned = cleaned.replace(",", ".")
    elif "," in cleaned:  # "21,000.50": a thousands separator
        cleaned = cleaned.replace(",", "")
    if not re.fullmatch(r"[+-]?(\d+(\.\d*)?|\.\d+)", cleaned):
        raise SpellError("not a number")
    try:
        amount = Decimal(cleaned)
    except InvalidOperation:
        raise SpellError("not a number") from None
    if abs(amount) > MAX_NUMBER:
        raise SpellError("too large to be said")
    return amount


def parse_whole(value: str) -> int:
    amount = parse_amount(value)
    if amount != amount.to_integral_value():
        raise SpellError("not a whole number")
    return int(amount)


_DATE_FORMATS = (
    "%Y-%m-%d", "%d.%m.%Y", "%d.%m.%y", "%d/%m/%Y", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M:%S",
)  # fmt: skip


def parse_day(value: str) -> date:
    """'2026-03-01', '01.03.2026', '1.3.26', '01/03/2026' (day first) -> date."""
    text = value.strip()
    for pattern in _DATE_FORMATS:
        try:
            return datetime.strptime(text, pattern).date()
        except ValueError:
            continue
    raise SpellError("not a date (expected 2026-03-01 or 01.03.2026)")


# --- numbers written into a text ---------------------------------------------------------

# A day before a month: genitive ("до 1 марта", a bare date) unless a preposition asks
# for another case ("по 8 марта", "на 1 марта": accusative; "к 1 марта": dative).
_RU_DAY_MONTH = re.compile(
    r"\b(?:(по|на|к|ко)\s+)?(\d{1,2})\s+(" + "|".join(_RU_MONTHS) + r")\b", re.IGNORECASE
)
_RU_CASE_AFTER = {"по": "accusative", "на": "accusative", "к": "dative", "ко": "dative"}
_RU_RUBLES = re.compile(
    r"\b(\d{1,3}(?:[ \u00a0]\d{3})+|\d+)(?:[.,](\d{2}))?\s*(?:руб(?:лей|ля|ль)?\.?|₽)"
)
_EN_MONTH_DAY = re.compile(r"\b(" + "|".join(_EN_MONTHS) + r")\s+(\d{1,2})(?:st|nd|rd|th)?\b")


def spell_written(text: str, language: str) -> str:
    """Dates and amounts written with digits in a text, spelled as ivr.say_text does for
    typed fields: "до 1 марта" -> "до первого марта", "500 руб." -> "пятьсот рублей",
    "March 1" -> "March first". Other digits are left to the voice."""
    if language == "ru":
        text = _RU_DAY_MONTH.sub(_ru_day_month, text)
        return _RU_RUBLES.sub(_ru_rubles, text)
    if language == "en":
        return _EN_MONTH_DAY.sub(_en_month_day, text)
    return text


def _ru_day_month(found: re.Match[str]) -> str:
    preposition, day, month = found.group(1), int(found.group(2)), found.group(3).lower()
    if not 1 <= day <= 31:
        return found.group(0)
    case = _RU_CASE_AFTER.get((preposition or "").lower(), "genitive")
    said = num2words(day, lang="ru", to="ordinal", case=case, gender="n")
    return f"{preposition} {said} {month}" if preposition else f"{said} {month}"


def _ru_rubles(found: re.Match[str]) -> str:
    whole = re.sub(r"\D", "", found.group(1))
    kopecks = found.group(2) or "00"
    return spell_money(Decimal(f"{whole}.{kopecks}"), "ru")


def _en_month_day(found: re.Match[str]) -> str:
    day = int(found.group(2))
    if not 1 <= day <= 31:
        return found.group(0)
    return f"{found.group(1)} {num2words(day, lang='en', to='ordinal')}"
