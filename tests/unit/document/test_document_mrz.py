"""The TD3 MRZ finder and verifier (services/document/extraction/mrz.py), without OCR."""

from __future__ import annotations

from datetime import date

import pytest

from services.document.domain import DocumentType, ExtractionStatus, initial_extraction_status
from services.document.extraction.mrz import (
    MrzFailure,
    PassportMrz,
    check_digit,
    find_td3,
    normalize,
)

TODAY = date(2026, 11, 26)
# ICAO 9303 part 4, appendix A: the specimen passport.
LINE1 = "P<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<<<<<<<<<"
LINE2 = "L898902C36UTO7408122F1204159ZE184226B<<<<<10"
SPECIMEN_FIELDS = {
    "document_type": "P",
    "issuing_country": "UTO",
    "surname": "ERIKSSON",
    "given_names": "ANNA MARIA",
    "document_number": "L898902C3",
    "nationality": "UTO",
    "birth_date": "1974-08-12",
    "sex": "F",
    "expiry_date": "2012-04-15",
    "personal_number": "ZE184226B",
    "mrz_check_digits_valid": "true",
}
# A second person (check digits by 7-3-1 weights: C01X00T47 -> 8, 051212 -> 5, 310801 -> 1,
# composite -> 4), no personal number, a one-letter country code with fillers, born this century.
OTHER1 = "P<D<<MUSTERMANN<<ERIKA<<<<<<<<<<<<<<<<<<<<<<"
OTHER2 = "C01X00T478D<<0512125F3108011<<<<<<<<<<<<<<04"


def fields(texts: list[str]) -> dict[str, str]:
    result = find_td3(texts, today=TODAY)
    assert isinstance(result, PassportMrz), result
    return result.as_fields()


def reason(texts: list[str]) -> str:
    result = find_td3(texts, today=TODAY)
    assert isinstance(result, MrzFailure), result
    return result.reason


def test_check_digits_of_the_specimen():
    assert check_digit("L898902C3") == 6
    assert check_digit("740812") == 2
    assert check_digit("120415") == 9
    assert check_digit("ZE184226B<<<<<") == 1
    assert check_digit("L898902C36" + "7408122" + "1204159ZE184226B<<<<<1") == 0
    assert check_digit("<<<<") == 0


def test_specimen_is_parsed_with_every_field():
    assert fields([LINE1, LINE2]) == SPECIMEN_FIELDS


def test_second_person_and_century_of_birth():
    got = fields(["PASSPORT", "Bundesrepublik Deutschland", OTHER1, OTHER2])
    assert got["surname"] == "MUSTERMANN" and got["given_names"] == "ERIKA"
    assert got["issuing_country"] == "D" and got["nationality"] == "D"
    assert got["birth_date"] == "2005-12-12" and got["expiry_date"] == "2031-08-01"
    assert got["document_number"] == "C01X00T47" and got["personal_number"] == ""


@pytest.mark.parametrize(
    "line2",
    [
        # What OCR read on a rendered specimen: the letter O of the nationality as a zero.
        "L898902C36UT07408122F1204159ZE184226B<<<<<10",
        # Letters in digit fields and digits in letters-only fields.
        "L898902C3GUT074O8I22F12O4I59ZE184226B<<<<<IO",
    ],
)
def test_ocr_confusions_are_repaired_by_field_type(line2: str):
    assert fields([LINE1, line2]) == SPECIMEN_FIELDS


def test_digits_in_the_name_field_become_letters():
    assert fields(["P<UT0ER1KSS0N<<ANNA<MAR1A<<<<<<<<<<<<<<<<<<<", LINE2]) == SPECIMEN_FIELDS


def test_spaces_case_and_filler_lookalikes_are_normalized():
    assert normalize(" p<uto eriksson«anna ") == "P<UTOERIKSSON<ANNA"
    assert (
        fields(
            [
                "P<UTO ERIKSSON << ANNA<MARIA <<<<<<<<<<<<<<<<<<<",
                "L898902C36 UTO7408122F 1204159ZE184226B<<<<<10",
            ]
        )
        == SPECIMEN_FIELDS
    )


def test_lines_split_into_pieces_or_joined_into_one():
    assert (
        fields(
            [
                "P<UTOERIKSSON<<ANNA<MARIA",
                "<<<<<<<<<<<<<<<<<<<",
                "L898902C36UTO7408122F",
                "1204159ZE184226B<<<<<10",
            ]
        )
        == SPECIMEN_FIELDS
    )
    assert fields([LINE1 + LINE2]) == SPECIMEN_FIELDS
    assert fields([LINE1 + " " + LINE2]) == SPECIMEN_FIELDS


def test_miscounted_filler_runs_are_refitted():
    assert fields([LINE1[:-3], LINE2]) == SPECIMEN_FIELDS
    assert find_td3([LINE1[:-3], LINE2], today=TODAY).line1_read_length == 41  # type: ignore[union-attr]
    assert find_td3([LINE1, LINE2], today=TODAY).line1_read_length == 44  # type: ignore[union-attr]
    assert fields([LINE1 + "<<", LINE2]) == SPECIMEN_FIELDS
    assert fields([LINE1, LINE2.replace("B<<<<<1", "B<<<<<<<1")]) == SPECIMEN_FIELDS
    assert fields([LINE1, LINE2.replace("B<<<<<1", "B<<<1")]) == SPECIMEN_FIELDS
    # Joined lines whose line-1 filler is one short.
    assert fields([LINE1[:-1] + LINE2]) == SPECIMEN_FIELDS


@pytest.mark.parametrize(
    ("position", "field"),
    [
        (9, "document_number"),
        (19, "birth_date"),
        (27, "expiry_date"),
        (42, "personal_number"),
        (43, "composite"),
    ],
)
def test_each_check_digit_failing_is_named(position: int, field: str):
    wrong = str((int(LINE2[position]) + 1) % 10)
    line2 = LINE2[:position] + wrong + LINE2[position + 1 :]
    if field != "composite":
        # Keep the composite right so that only the field under test fails.
        body = line2[0:10] + line2[13:20] + line2[21:43]
        line2 = line2[:43] + str(check_digit(body))
    assert reason([LINE1, line2]) == f"CHECK_DIGIT_MISMATCH:{field}"


def test_a_changed_field_value_fails_its_check_digit():
    assert reason([LINE1, LINE2.replace("L898902C3", "L898902C4")]) == "CHECK_DIGIT_MISMATCH:document_number"
    assert reason([LINE1, LINE2.replace("7408122", "7408132")]) == "CHECK_DIGIT_MISMATCH:birth_date"


def test_impossible_values_are_invalid_fields():
    birth = "741332"  # 13th month, 32nd day: the check digits still verify
    line2 = LINE2[:13] + birth + str(check_digit(birth)) + LINE2[20:43]
    line2 += str(check_digit(line2[0:10] + line2[13:20] + line2[21:43]))
    assert reason([LINE1, line2]) == "INVALID_FIELD:birth_date"


@pytest.mark.parametrize(
    "texts",
    [
        [],
        ["", "   "],
        ["PASSPORT", "Surname: ERIKSSON", "Given names: ANNA MARIA"],
        ["P<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<<<<<<<<<"],  # line 2 missing
        [LINE2, LINE1],  # wrong order: line 2 must follow line 1
        [
            "lorem ipsum dolor sit amet consectetur adipiscing elit sed do eiusmod tempor",
            "incididunt ut labore et dolore magna aliqua ut enim ad minim veniam quis nostrud",
        ],
        ["P" * 44, "1" * 44],
    ],
)
def test_garbage_is_mrz_not_found(texts: list[str]):
    assert reason(texts) == "MRZ_NOT_FOUND"


def test_only_passports_are_queued_for_extraction():
    assert initial_extraction_status(DocumentType.PASSPORT) == ExtractionStatus.PENDING
    for other in (
        DocumentType.ID_CARD,
        DocumentType.PROOF_OF_ADDRESS,
        DocumentType.BANK_STATEMENT,
        DocumentType.TAX_RETURN,
        DocumentType.OTHER,
    ):
        assert initial_extraction_status(other) == ExtractionStatus.NOT_APPLICABLE
