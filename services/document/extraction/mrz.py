"""The machine-readable zone of a passport (ICAO 9303 part 4, TD3): found in OCR text, verified.

Pure functions, no I/O. A TD3 MRZ is two lines of 44 characters from ``A-Z 0-9 <``:

* line 1: ``P`` + type (letter or ``<``), issuing state (3), name field (39): surname ``<<``
  given names, words joined by ``<``, padded with ``<``;
* line 2: document number (9) + check, nationality (3), birth date YYMMDD + check, sex
  (``M``/``F``/``<``), expiry date YYMMDD + check, personal number (14) + check, composite check
  over document number, birth date, expiry date and personal number with their check digits.

OCR text is not the MRZ: a line may come as several pieces or two lines as one, spaces are
added, ``<`` runs are miscounted and look-alike characters swapped (``O``/``0``, ``I``/``1``...).
The finder therefore tries the plausible ways the pieces join, repairs characters only where
the field's type leaves no doubt (letters-only fields get letters, digit fields get digits),
re-fits miscounted filler runs, and accepts a reading only when every check digit verifies.
Alphanumeric fields (document and personal number) are never guessed at: their check digits
decide. Nothing here logs: the MRZ is personal data.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import date

LINE = 44
_ALPHABET = re.compile(r"[^A-Z0-9<]")
# Characters OCR engines produce for the filler "<" and angle-quote look-alikes.
_FILLER_LOOKALIKES = str.maketrans({"«": "<", "‹": "<", "〈": "<", "＜": "<", "≤": "<"})
_TO_LETTER = str.maketrans({"0": "O", "1": "I", "2": "Z", "4": "A", "5": "S", "6": "G", "8": "B"})
_TO_DIGIT = str.maketrans(
    {
        "O": "0",
        "Q": "0",
        "D": "0",
        "U": "0",
        "I": "1",
        "L": "1",
        "Z": "2",
        "S": "5",
        "B": "8",
        "G": "6",
        "T": "7",
        "A": "4",
    }
)
_WEIGHTS = (7, 3, 1)
# Fragments joined into one line at most (OCR splits a line at wide filler runs).
_MAX_PIECES = 3

# The check-digit fields, in the order they are verified and reported.
CHECKED_FIELDS = ("document_number", "birth_date", "expiry_date", "personal_number", "composite")

MRZ_NOT_FOUND = "MRZ_NOT_FOUND"
CHECK_DIGIT_MISMATCH = "CHECK_DIGIT_MISMATCH"
INVALID_FIELD = "INVALID_FIELD"


@dataclass(frozen=True)
class PassportMrz:
    """The fields of a verified TD3 MRZ."""

    document_type: str
    issuing_country: str
    surname: str
    given_names: str
    document_number: str
    nationality: str
    birth_date: date
    sex: str
    expiry_date: date
    personal_number: str
    # How many characters OCR gave for line 1 before its filler was re-counted: fewer than 44
    # means characters may have been lost, and names have no check digit to tell.
    line1_read_length: int = LINE

    def as_fields(self) -> dict[str, str]:
        """The string map stored as ``extracted_fields`` (keys documented in the proto)."""
        return {
            "document_type": self.document_type,
            "issuing_country": self.issuing_country,
            "surname": self.surname,
            "given_names": self.given_names,
            "document_number": self.document_number,
            "nationality": self.nationality,
            "birth_date": self.birth_date.isoformat(),
            "sex": self.sex,
            "expiry_date": self.expiry_date.isoformat(),
            "personal_number": self.personal_number,
            "mrz_check_digits_valid": "true",
        }


@dataclass(frozen=True)
class MrzFailure:
    """Why no verified MRZ was found: ``MRZ_NOT_FOUND``, ``CHECK_DIGIT_MISMATCH:<field>`` or
    ``INVALID_FIELD:<field>`` (field as in CHECKED_FIELDS or ``sex``/``birth_date``/...)."""

    reason: str


def check_digit(value: str) -> int:
    """The ICAO 9303 check digit of ``value``: weights 7-3-1, ``<`` = 0, A = 10 ... Z = 35."""
    total = 0
    for index, char in enumerate(value):
        if char.isdigit():
            number = int(char)
        elif "A" <= char <= "Z":
            number = ord(char) - ord("A") + 10
        elif char == "<":
            number = 0
        else:
            raise ValueError(f"not an MRZ character: {char!r}")
        total += number * _WEIGHTS[index % 3]
    return total % 10


def normalize(text: str) -> str:
    """An OCR text line in the MRZ alphabet: upper case, filler look-alikes as ``<``, rest dropped."""
    return _ALPHABET.sub("", text.upper().translate(_FILLER_LOOKALIKES))


def _letters(field: str) -> str:
    return field.translate(_TO_LETTER)


def _digits(field: str) -> str:
    return field.translate(_TO_DIGIT)


def repair_line1(line: str) -> str:
    """Line 1 with digits in its letters-only fields turned into the letters they resemble."""
    return line[0] + _letters(line[1:])


def repair_line2(line: str) -> str:
    """Line 2 with each fixed field coerced to its type; alphanumeric fields left as read."""
    check = _digits(line[9])
    personal_check = line[42] if line[42] == "<" else _digits(line[42])
    return (
        line[0:9]
        + check
        + _letters(line[10:13])
        + _digits(line[13:20])
        + line[20]
        + _digits(line[21:28])
        + line[28:42]
        + personal_check
        + _digits(line[43])
    )


def _fit_line1(raw: str) -> str | None:
    """``raw`` as a 44-character line 1, the trailing filler re-counted; None when it cannot be one."""
    if len(raw) < 20 or raw[0] != "P":
        return None
    if len(raw) > LINE:
        return raw[:LINE] if set(raw[LINE:]) == {"<"} else None
    return raw.ljust(LINE, "<")


def _fit_line2(raw: str) -> list[str]:
    """``raw`` as 44-character line 2 candidates: as read, or with one filler run re-counted."""
    if len(raw) == LINE:
        return [raw]
    delta = LINE - len(raw)
    if abs(delta) > 6:
        return []
    fitted: list[str] = []
    # Only the personal number (positions 28-41) has filler runs long enough to be miscounted.
    for match in re.finditer(r"<{2,}", raw):
        start, end = match.span()
        if start < 20 or end > len(raw) - 1 or (end - start) + delta < 0:
            continue
        fitted.append(raw[:start] + "<" * ((end - start) + delta) + raw[end:])
    return fitted


def _century(yymmdd: str, *, past: bool, today: date) -> date | None:
    try:
        year, month, day = int(yymmdd[0:2]), int(yymmdd[2:4]), int(yymmdd[4:6])
        candidate = date(2000 + year, month, day)
        if past and candidate > today:
            candidate = date(1900 + year, month, day)
        return candidate
    except ValueError:
        return None


_LINE1_SHAPE = re.compile(r"P[A-Z<][A-Z<]{3}[A-Z<]+<<[A-Z<]*")
_LINE2_SHAPE = re.compile(r"[A-Z0-9<]{9}[0-9][A-Z<]{3}[0-9]{7}[A-Z<][0-9]{7}[A-Z0-9<]{14}[0-9<][0-9]")


def _plausible(line1: str, line2: str) -> bool:
    """Whether the repaired lines have the TD3 shape at all (else it is other text, not an MRZ)."""
    return bool(_LINE1_SHAPE.fullmatch(line1) and _LINE2_SHAPE.fullmatch(line2))


def failure_rank(failure: MrzFailure) -> int:
    """How far a reading got: not an MRZ < a check digit failing early < late < a bad field."""
    kind, _, field = failure.reason.partition(":")
    if kind == CHECK_DIGIT_MISMATCH:
        return 1 + CHECKED_FIELDS.index(field)
    return 0 if kind == MRZ_NOT_FOUND else len(CHECKED_FIELDS) + 1


def parse_td3(line1: str, line2: str, *, today: date) -> PassportMrz | MrzFailure:
    """Verify and decode two 44-character lines (already in the MRZ alphabet)."""
    if len(line1) != LINE or len(line2) != LINE or line1[0] != "P":
        return MrzFailure(MRZ_NOT_FOUND)
    line1, line2 = repair_line1(line1), repair_line2(line2)
    if not _plausible(line1, line2):
        return MrzFailure(MRZ_NOT_FOUND)
    checks = {
        "document_number": (line2[0:9], line2[9]),
        "birth_date": (line2[13:19], line2[19]),
        "expiry_date": (line2[21:27], line2[27]),
        "personal_number": (line2[28:42], line2[42]),
        "composite": (line2[0:10] + line2[13:20] + line2[21:43], line2[43]),
    }
    for name in CHECKED_FIELDS:
        value, digit = checks[name]
        if name == "personal_number" and digit == "<" and set(value) == {"<"}:
            continue  # an empty personal number may have a filler as its check digit
        if not digit.isdigit() or check_digit(value) != int(digit):
            return MrzFailure(f"{CHECK_DIGIT_MISMATCH}:{name}")
    if not re.fullmatch(r"[A-Z<]{3}", line2[10:13]):
        return MrzFailure(f"{INVALID_FIELD}:nationality")
    if not re.fullmatch(r"[A-Z<]{3}", line1[2:5]):
        return MrzFailure(f"{INVALID_FIELD}:issuing_country")
    if line2[20] not in "MFX<":
        return MrzFailure(f"{INVALID_FIELD}:sex")
    birth = _century(line2[13:19], past=True, today=today)
    if birth is None:
        return MrzFailure(f"{INVALID_FIELD}:birth_date")
    expiry = _century(line2[21:27], past=False, today=today)
    if expiry is None:
        return MrzFailure(f"{INVALID_FIELD}:expiry_date")
    surname, _, given = line1[5:].partition("<<")
    if not surname.strip("<"):
        return MrzFailure(f"{INVALID_FIELD}:surname")
    return PassportMrz(
        document_type=line1[0:2].rstrip("<"),
        issuing_country=line1[2:5].rstrip("<"),
        surname=surname.strip("<").replace("<", " "),
        given_names=" ".join(part for part in given.split("<") if part),
        document_number=line2[0:9].rstrip("<"),
        nationality=line2[10:13].rstrip("<"),
        birth_date=birth,
        sex="X" if line2[20] in "<X" else line2[20],
        expiry_date=expiry,
        personal_number=line2[28:42].rstrip("<"),
    )


def _groups(pieces: Sequence[str], start: int) -> Iterator[tuple[int, str]]:
    """(end index, joined text) of 1 to _MAX_PIECES consecutive pieces from ``start``."""
    joined = ""
    for end in range(start, min(len(pieces), start + _MAX_PIECES)):
        joined += pieces[end]
        yield end + 1, joined


def _candidates(pieces: Sequence[str]) -> Iterator[tuple[str, str, int]]:
    """(line 1, line 2, characters read for line 1) readings the pieces allow, most literal first."""
    for start, piece in enumerate(pieces):
        if not piece.startswith("P"):
            continue
        for end, joined in _groups(pieces, start):
            # Two lines read as one: split where line 1's filler ends near position 44.
            if len(joined) >= 2 * LINE - 12:
                splits = [LINE] + [
                    b
                    for b in range(LINE - 6, LINE + 7)
                    if b != LINE and joined[b - 1] == "<" and joined[b] != "<"
                ]
                for boundary in splits:
                    line1 = _fit_line1(joined[:boundary])
                    if line1 is not None:
                        for line2 in _fit_line2(joined[boundary:]):
                            yield line1, line2, boundary
                continue
            line1 = _fit_line1(joined)
            if line1 is None:
                continue
            for _, second in _groups(pieces, end):
                for line2 in _fit_line2(second):
                    yield line1, line2, len(joined)


def find_td3(texts: Sequence[str], *, today: date | None = None) -> PassportMrz | MrzFailure:
    """The verified MRZ in OCR ``texts`` (top to bottom), or the most telling failure."""
    today = today or date.today()
    pieces = [p for p in (normalize(text) for text in texts) if p]
    best: MrzFailure | None = None
    for line1, line2, read_length in _candidates(pieces):
        result = parse_td3(line1, line2, today=today)
        if isinstance(result, PassportMrz):
            return dataclasses.replace(result, line1_read_length=read_length)
        # The reading that got furthest says most about what is wrong with the document.
        if best is None or failure_rank(result) > failure_rank(best):
            best = result
    return best or MrzFailure(MRZ_NOT_FOUND)
