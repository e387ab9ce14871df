"""Standardisation before linkage: each rule alone, then the vectorised frame version
against the same rules applied one row at a time."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from features.linkage import schema as ls
from features.linkage.idnumber import id_number_columns
from features.linkage.standardise import (
    STANDARD_COLUMNS,
    PartialDate,
    id_check_digit,
    make_id_number,
    normalise_text,
    normalise_texts,
    parse_birth_date,
    parse_id_number,
    phone_digits,
    pinyin,
    split_name,
    standardise_persons,
    surname_pinyin,
)

GB_EXAMPLE = "11010519491231002X"  # the standard's own example: 1949-12-31, female
TODAY = date.today()


# ---- text ---------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("ＷＡＮＧ　伟", "WANG伟"),  # full-width letters and the ideographic space
        ("王 伟", "王伟"),
        (" 王\t伟 ", "王伟"),
        ("王\u3000伟", "王伟"),
        ("王\u200b伟", "王伟"),  # zero-width space
        ("\ufeff王伟", "王伟"),  # byte order mark
        ("１２３ａｂｃ", "123abc"),
        ("張偉", "张伟"),
        ("劉麗華", "刘丽华"),
        ("買買提·艾力", "买买提·艾力"),  # the name dot is kept
        ("买买提•艾力", "买买提·艾力"),  # bullet written as the name dot
        ("买买提・艾力", "买买提·艾力"),  # katakana middle dot too
        ("北京市 東城區", "北京市东城区"),
        ("", None),
        ("  \u3000 ", None),
        (None, None),
    ],
)
def test_normalise_text(text: str | None, expected: str | None) -> None:
    assert normalise_text(text) == expected


def test_normalise_texts_converts_many_at_once_as_one_by_one() -> None:
    texts = ["張偉", None, "  ", "劉麗華", "ＷＡＮＧ", "後來", "乾隆"]
    assert normalise_texts(texts) == [normalise_text(t) for t in texts]


# ---- names --------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("王伟", ("王", "伟")),
        ("王子涵", ("王", "子涵")),
        ("王", ("王", "")),
        ("欧阳娜娜", ("欧阳", "娜娜")),
        ("司马光", ("司马", "光")),
        ("诸葛亮", ("诸葛", "亮")),
        ("上官婉儿", ("上官", "婉儿")),
        ("尉迟恭", ("尉迟", "恭")),
        ("欧阳", ("欧", "阳")),  # no given name after it: an ordinary surname
        ("买买提·艾力", ("艾力", "买买提")),
        ("WangWei", ("", "wangwei")),
        ("", ("", "")),
    ],
)
def test_split_name(name: str, expected: tuple[str, str]) -> None:
    assert split_name(name) == expected


def test_pinyin_of_homophones_is_equal() -> None:
    assert pinyin("王伟") == pinyin("王玮") == pinyin("汪威") == "wangwei"
    assert pinyin("张子涵") == "zhangzihan"


def test_pinyin_keeps_latin_and_digits_lowercased_and_drops_punctuation() -> None:
    assert pinyin("WangWei") == "wangwei"
    assert pinyin("买买提·艾力") == "maimaitiaili"
    assert pinyin("小A2") == "xiaoa2"
    assert pinyin("吕") == "lv"
    assert pinyin("") == ""


def test_surnames_take_their_surname_reading() -> None:
    assert pinyin("单") == "dan"
    assert surname_pinyin("单") == "shan"
    assert surname_pinyin("曾") == "zeng"
    assert surname_pinyin("尉迟") == "yuchi"
    assert surname_pinyin("万俟") == "moqi"
    assert surname_pinyin("王") == "wang"


# ---- ID numbers -----------------------------------------------------------------------------
def test_the_standards_example_is_valid() -> None:
    assert id_check_digit(GB_EXAMPLE[:17]) == "X"
    parsed = parse_id_number(GB_EXAMPLE)
    assert parsed is not None
    assert parsed.valid
    assert parsed.birth_date == date(1949, 12, 31)
    assert parsed.sex == "F"
    assert parsed.region == "110105"


def test_a_check_digit_x_built_and_read() -> None:
    numbers = (make_id_number("440305", date(2016, 7, 1), q, "M") for q in range(500))
    with_x = next(n for n in numbers if n.endswith("X"))
    parsed = parse_id_number(with_x.lower())  # typed with a lowercase x
    assert parsed is not None
    assert parsed.normalised == with_x
    assert parsed.valid


def test_one_digit_wrong_fails_the_check_but_is_kept() -> None:
    wrong = GB_EXAMPLE[:5] + "6" + GB_EXAMPLE[6:]
    parsed = parse_id_number(wrong)
    assert parsed is not None
    assert parsed.well_formed
    assert not parsed.check_ok
    assert not parsed.valid
    assert parsed.normalised == wrong


def test_blanks_and_full_width_digits_are_normalised() -> None:
    typed = " 110105 １９４９１２３１ 002x\u3000"
    parsed = parse_id_number(typed)
    assert parsed is not None
    assert parsed.normalised == GB_EXAMPLE
    assert parsed.valid


def test_a_fifteen_digit_number_is_upgraded() -> None:
    parsed = parse_id_number("110105491231002")
    assert parsed is not None
    assert parsed.normalised == GB_EXAMPLE
    assert parsed.well_formed
    assert parsed.check_ok
    assert parsed.birth_date == date(1949, 12, 31)
    assert parsed.valid


@pytest.mark.parametrize(
    "typed",
    ["1101051949123100", "1101051949123100211", "11010519491231002Y", "1101051949X231002X", "abc"],
)
def test_a_value_of_the_wrong_shape_is_kept_not_well_formed(typed: str) -> None:
    parsed = parse_id_number(typed)
    assert parsed is not None
    assert parsed.normalised == typed.replace("x", "X")
    assert not parsed.well_formed
    assert not parsed.check_ok
    assert not parsed.valid
    assert parsed.sex is None
    assert parsed.region is None
    assert parsed.birth_date is None


@pytest.mark.parametrize("text", [None, "", "  ", "\u3000"])
def test_nothing_typed_is_none(text: str | None) -> None:
    assert parse_id_number(text) is None


@pytest.mark.parametrize(
    "encoded",
    ["20190230", "20191301", "18991231", f"{TODAY + timedelta(days=1):%Y%m%d}", "00000000"],
)
def test_an_impossible_encoded_birth_date_is_not_valid(encoded: str) -> None:
    first17 = f"110101{encoded}123"
    parsed = parse_id_number(first17 + id_check_digit(first17))
    assert parsed is not None
    assert parsed.well_formed
    assert parsed.check_ok
    assert parsed.birth_date is None
    assert not parsed.valid


def test_sex_is_the_parity_of_the_seventeenth_digit() -> None:
    male = make_id_number("110101", date(2015, 3, 5), 7, "M")
    female = make_id_number("110101", date(2015, 3, 5), 7, "F")
    assert int(male[16]) % 2 == 1
    assert int(female[16]) % 2 == 0
    assert male[14:17] == "015"
    assert female[14:17] == "014"
    parsed = [parse_id_number(number) for number in (male, female)]
    assert [p.sex if p else None for p in parsed] == ["M", "F"]


@pytest.mark.parametrize(
    ("region", "sequence", "sex"),
    [
        ("11010", 1, "M"),
        ("11010a", 1, "M"),
        ("110101", 500, "M"),
        ("110101", -1, "F"),
        ("110101", 1, "U"),
    ],
)
def test_make_id_number_refuses_bad_parts(region: str, sequence: int, sex: str) -> None:
    with pytest.raises(ValueError, match="ID number"):
        make_id_number(region, date(2015, 3, 5), sequence, sex)


_REGIONS = st.sampled_from(["110101", "110119", "130102", "410105", "650102"])
_BIRTHS = st.dates(min_value=date(1900, 1, 1), max_value=TODAY)


@given(_REGIONS, _BIRTHS, st.integers(0, 499), st.sampled_from(["M", "F"]))
def test_made_numbers_read_back(region: str, birth: date, sequence: int, sex: str) -> None:
    parsed = parse_id_number(make_id_number(region, birth, sequence, sex))
    assert parsed is not None
    assert parsed.valid
    assert (parsed.birth_date, parsed.sex, parsed.region) == (birth, sex, region)


@given(
    _REGIONS,
    _BIRTHS,
    st.integers(0, 499),
    st.sampled_from(["M", "F"]),
    st.integers(0, 17),
    st.integers(1, 9),
)
def test_any_single_change_fails_the_check(
    region: str, birth: date, sequence: int, sex: str, position: int, shift: int
) -> None:
    number = make_id_number(region, birth, sequence, sex)
    alphabet = "0123456789X" if position == 17 else "0123456789"
    changed_char = alphabet[(alphabet.index(number[position]) + shift) % len(alphabet)]
    changed = number[:position] + changed_char + number[position + 1 :]
    parsed = parse_id_number(changed)
    assert parsed is not None
    assert not parsed.check_ok


# ---- birth dates and phones ------------------------------------------------------------------
@pytest.mark.parametrize(
    ("text", "expected", "precision", "iso"),
    [
        ("2019-03-05", PartialDate(2019, 3, 5), "day", "2019-03-05"),
        ("2019/03/05", PartialDate(2019, 3, 5), "day", "2019-03-05"),
        ("2019-3-5", PartialDate(2019, 3, 5), "day", "2019-03-05"),
        ("20190305", PartialDate(2019, 3, 5), "day", "2019-03-05"),
        ("２０１９－０３－０５", PartialDate(2019, 3, 5), "day", "2019-03-05"),
        (" 2019-03-05 ", PartialDate(2019, 3, 5), "day", "2019-03-05"),
        ("2019-03", PartialDate(2019, 3), "month", "2019-03"),
        ("2019", PartialDate(2019), "year", "2019"),
    ],
)
def test_birth_dates_keep_their_precision(
    text: str, expected: PartialDate, precision: str, iso: str
) -> None:
    parsed = parse_birth_date(text)
    assert parsed == expected
    assert parsed.precision == precision
    assert parsed.iso == iso


@pytest.mark.parametrize("text", [None, "", "  "])
def test_no_birth_date_typed_is_none(text: str | None) -> None:
    assert parse_birth_date(text) is None


@pytest.mark.parametrize(
    ("text", "shape"),
    [
        ("2019-02-30", "9999-99-99"),
        ("2019-13", "9999-99"),
        ("0000", "9999"),
        ("2019-03/05", "9999-99/99"),
        ("张三丰", "aaa"),
        ("05.03.2019", "99.99.9999"),
    ],
)
def test_a_birth_date_that_does_not_parse_raises_naming_its_shape(text: str, shape: str) -> None:
    with pytest.raises(ValueError, match="birth date") as raised:
        parse_birth_date(text)
    message = str(raised.value)
    assert repr(shape) in message
    assert text not in message


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("138 0013 8000", "13800138000"),
        ("138-0013-8000", "13800138000"),
        ("+86 138 0013 8000", "13800138000"),
        ("+86-13800138000", "13800138000"),
        ("0086 13800138000", "13800138000"),
        ("8613800138000", "13800138000"),
        ("１３８００１３８０００", "13800138000"),
        ("010-6512 3456", "01065123456"),
        ("86 010 6512 3456", "8601065123456"),  # not a mobile after 86: kept whole
        (" - ", None),
        ("", None),
        (None, None),
    ],
)
def test_phone_digits(text: str | None, expected: str | None) -> None:
    assert phone_digits(text) == expected


# ---- the frame ------------------------------------------------------------------------------
def _persons(rows: list[dict[str, Any]]) -> pl.DataFrame:
    columns = (*ls.PERSONS_COLUMNS, ls.SOURCE)
    full = [
        {c: row.get(c, f"r{i}" if c == ls.RECORD_ID else "welfare" if c == ls.SOURCE else None)
         for c in columns}
        for i, row in enumerate(rows)
    ]  # fmt: skip
    return pl.DataFrame(full, schema=dict.fromkeys(columns, pl.String))


CHILD_ID = make_id_number("110101", date(2015, 3, 5), 3, "M")
GUARDIAN_ID = make_id_number("110101", date(1985, 6, 1), 3, "F")


def test_standardise_persons_adds_the_standard_columns() -> None:
    persons = _persons(
        [
            {"name": " 張 偉", "id_number": CHILD_ID.lower(), "birth_date": "2015-03-05",
             "sex": "M", "guardian_name": "劉麗華", "guardian_id_number": GUARDIAN_ID,
             "guardian_phone": "+86 138-0013-8000", "address": "東城區 和平里"},
            {"name": "欧阳娜娜", "id_number": GUARDIAN_ID, "birth_date": "2015-03-05",
             "sex": "M"},  # a guardian's number typed into the child's field
            {"name": "单伟", "id_number": CHILD_ID[:-1] + "0", "birth_date": "2015-03",
             "sex": "U"},
            {"name": "王", "birth_date": "2015-02-30", "sex": "F"},
            {"sex": "U"},
        ]
    )  # fmt: skip
    out = standardise_persons(persons)
    assert out.columns == [*persons.columns, *STANDARD_COLUMNS]
    assert out.select(persons.columns).equals(persons)
    assert out.schema["id_valid"] == pl.Boolean
    assert out.schema["id_birth_date"] == pl.Date
    assert out.schema["birth_year"] == pl.Int16
    assert out.schema["birth_month"] == pl.Int8
    assert out.schema["birth_day"] == pl.Int8
    rows = out.rows(named=True)
    first, second, third, fourth, fifth = rows
    assert first["name_std"] == "张伟"
    assert (first["surname"], first["given_name"]) == ("张", "伟")
    assert (first["name_pinyin"], first["given_pinyin"]) == ("zhangwei", "wei")
    assert first["id_std"] == CHILD_ID
    assert first["id_valid"]
    assert first["id_birth_date"] == date(2015, 3, 5)
    assert first["id_sex"] == "M"
    assert (first["birth_year"], first["birth_month"], first["birth_day"]) == (2015, 3, 5)
    assert first["birth_precision"] == "day"
    assert not first["id_conflict"]
    assert (first["guardian_name_std"], first["guardian_pinyin"]) == ("刘丽华", "liulihua")
    assert first["guardian_id_std"] == GUARDIAN_ID
    assert first["guardian_id_valid"]
    assert first["phone_std"] == "13800138000"
    assert first["address_std"] == "东城区和平里"

    assert (second["surname"], second["given_name"]) == ("欧阳", "娜娜")
    assert second["name_pinyin"] == "ouyangnana"
    assert second["id_valid"]
    assert second["id_conflict"]  # born 1985 and female by the number

    assert third["name_pinyin"] == "shanwei"
    assert third["given_pinyin"] == "wei"
    assert not third["id_valid"]
    assert third["id_birth_date"] is None
    assert third["id_sex"] is None
    assert (third["birth_year"], third["birth_month"], third["birth_day"]) == (2015, 3, None)
    assert third["birth_precision"] == "month"
    assert not third["id_conflict"]

    assert (fourth["surname"], fourth["given_name"], fourth["given_pinyin"]) == ("王", None, None)
    assert fourth["birth_year"] is None
    assert fourth["birth_precision"] is None

    assert not fifth["id_valid"]
    assert not fifth["guardian_id_valid"]
    assert not fifth["id_conflict"]
    assert all(fifth[c] is None for c in STANDARD_COLUMNS if c not in _BOOLEANS)


_BOOLEANS = ("id_valid", "guardian_id_valid", "id_conflict")


def test_standardise_persons_on_nulls_everywhere_and_on_no_rows() -> None:
    nulls = pl.DataFrame(
        {c: [None, None] for c in (*ls.PERSONS_COLUMNS, ls.SOURCE)},
        schema=dict.fromkeys((*ls.PERSONS_COLUMNS, ls.SOURCE), pl.Null),
    )
    out = standardise_persons(nulls)
    assert out.height == 2
    assert out.select(_BOOLEANS).to_dicts() == [dict.fromkeys(_BOOLEANS, False)] * 2
    others = [c for c in STANDARD_COLUMNS if c not in _BOOLEANS]
    assert out.select(others).null_count().row(0) == (2,) * len(others)
    empty = standardise_persons(_persons([]))
    assert empty.height == 0
    assert empty.columns[-len(STANDARD_COLUMNS) :] == list(STANDARD_COLUMNS)


def test_a_date_typed_birth_date_column_is_read_as_its_iso_text() -> None:
    persons = _persons([{"sex": "F"}]).with_columns(pl.lit(date(2015, 3, 5)).alias("birth_date"))
    row = standardise_persons(persons).row(0, named=True)
    assert (row["birth_year"], row["birth_month"], row["birth_day"]) == (2015, 3, 5)
    assert row["birth_precision"] == "day"


# ---- the frame against the rules one row at a time ---------------------------------------
_NAMES = st.one_of(
    st.none(),
    st.sampled_from(
        ["王伟", "王 玮", "張偉", "欧阳娜娜", "ＷＡＮＧ　Wei", "买买提•艾力", "单", " "]
    ),
    st.text(alphabet="王伟張劉麗华欧阳司马小涵　 \u200b·•ＡaB1", max_size=6),
)
_CLEAN_IDS = st.builds(
    make_id_number, _REGIONS, _BIRTHS, st.integers(0, 499), st.sampled_from("MF")
)
_IDS = st.one_of(
    st.none(),
    _CLEAN_IDS,
    _CLEAN_IDS.map(str.lower),
    _CLEAN_IDS.map(lambda n: n[:6] + n[8:17]),  # 15 digits
    _CLEAN_IDS.map(lambda n: n[:5] + str((int(n[5]) + 1) % 10) + n[6:]),
    _CLEAN_IDS.map(lambda n: n[:9] + " " + n[9:]),
    _CLEAN_IDS.map(lambda n: n.translate(str.maketrans("0123456789", "０１２３４５６７８９"))),
    st.sampled_from(["110101201902300012", "11010119000101001X", "", "  "]),
    st.text(alphabet="0123456789xX ０-", max_size=19),
)
_DATES = st.one_of(
    st.none(),
    st.sampled_from(["2015-03-05", "2015-03", "2015", "20150305", "2015-02-30", "x", "２０１５"]),
    st.text(alphabet="0123456789-/", max_size=10),
)
_PHONES = st.one_of(
    st.none(),
    st.sampled_from(["+86 138 0013 8000", "8613800138000", "１３８００１３８０００", "-"]),
    st.text(alphabet="0123456789+-８６ ", max_size=16),
)
_ROWS = st.fixed_dictionaries(
    {
        "name": _NAMES,
        "id_number": _IDS,
        "birth_date": _DATES,
        "sex": st.sampled_from(["F", "M", "U"]),
        "address": _NAMES,
        "guardian_name": _NAMES,
        "guardian_id_number": _IDS,
        "guardian_phone": _PHONES,
    }
)


def _one_row(row: dict[str, Any]) -> dict[str, Any]:
    """The standard columns of one record, from the public rules alone."""
    name = normalise_text(row["name"])
    surname, given_name = split_name(name) if name else ("", "")
    parsed = parse_id_number(row["id_number"])
    valid = parsed is not None and parsed.valid
    try:
        birth = parse_birth_date(row["birth_date"])
    except ValueError:
        birth = None
    typed_day = (
        date(birth.year, birth.month, birth.day) if birth and birth.month and birth.day else None
    )
    typed_sex = row["sex"] if row["sex"] in ("F", "M") else None
    id_birth = parsed.birth_date if valid and parsed else None
    id_sex = parsed.sex if valid and parsed else None
    guardian = normalise_text(row["guardian_name"])
    g_surname, g_given = split_name(guardian) if guardian else ("", "")
    guardian_id = parse_id_number(row["guardian_id_number"])
    return {
        "name_std": name,
        "surname": surname or None,
        "given_name": given_name or None,
        "name_pinyin": surname_pinyin(surname) + pinyin(given_name) or None,
        "given_pinyin": pinyin(given_name) or None,
        "id_std": parsed.normalised if parsed else None,
        "id_valid": valid,
        "id_birth_date": id_birth,
        "id_sex": id_sex,
        "birth_year": birth.year if birth else None,
        "birth_month": birth.month if birth else None,
        "birth_day": birth.day if birth else None,
        "birth_precision": birth.precision if birth else None,
        "guardian_name_std": guardian,
        "guardian_pinyin": surname_pinyin(g_surname) + pinyin(g_given) or None,
        "guardian_id_std": guardian_id.normalised if guardian_id else None,
        "guardian_id_valid": guardian_id is not None and guardian_id.valid,
        "phone_std": phone_digits(row["guardian_phone"]),
        "address_std": normalise_text(row["address"]),
        "id_conflict": valid
        and (
            (typed_day is not None and typed_day != id_birth) or (typed_sex not in (None, id_sex))
        ),
    }


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(_ROWS, min_size=1, max_size=12).flatmap(lambda rows: st.just(rows + rows[:3])))
def test_the_frame_agrees_with_the_rules_row_by_row(rows: list[dict[str, Any]]) -> None:
    out = standardise_persons(_persons(rows))
    assert out.select(STANDARD_COLUMNS).to_dicts() == [_one_row(row) for row in rows]


@settings(max_examples=60, deadline=None)
@given(st.lists(_IDS, max_size=20))
def test_id_numbers_read_in_polars_as_in_python(values: list[str | None]) -> None:
    out = id_number_columns(pl.Series(values, dtype=pl.String))
    parsed = [parse_id_number(value) for value in values]
    assert out["std"].to_list() == [p.normalised if p else None for p in parsed]
    assert out["valid"].to_list() == [bool(p and p.valid) for p in parsed]
    assert out["birth_date"].to_list() == [p.birth_date if p and p.valid else None for p in parsed]
    assert out["sex"].to_list() == [p.sex if p and p.valid else None for p in parsed]
