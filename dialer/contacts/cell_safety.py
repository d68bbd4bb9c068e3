"""Spreadsheet formula injection: a cell that starts with `=`, `+`, `-`, `@`, a tab or a
carriage return is run as a formula by Excel and LibreOffice when a CSV is opened
(`=HYPERLINK(...)`, `+cmd|' /C calc'!A0`, `@SUM(...)`). Every file we write that a person
may open in a spreadsheet passes its cells through `neutralise_formula` (OWASP's rule:
prefix such a cell with a single quote, which the spreadsheet shows as text).

A phone number or a plain number (`+79123456789`, `-5`, `+7 (912) 345-67-80`) is left as
it is: it cannot run anything, and a quote in front of every E.164 number would break
the files for the systems that read them back.
"""

from __future__ import annotations

import re

_TRIGGERS = ("=", "+", "-", "@", "\t", "\r", "\n")
_PLAIN_NUMBER = re.compile(r"^[+-]?[0-9][0-9 ().-]*$")


def neutralise_formula(text: str) -> str:
    if text.startswith(_TRIGGERS) and not _PLAIN_NUMBER.match(text):
        return "'" + text
    return text


def restore_neutralised(text: str) -> str:
    """The cell as it was before `neutralise_formula`: a CSV we exported imports back
    unchanged (the contact base keeps the text; every export neutralises it again)."""
    if text.startswith("'") and neutralise_formula(text[1:]) == text:
        return text[1:]
    return text
