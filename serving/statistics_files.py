"""The statistics as files an analyst can hand on: CSV (UTF-8 with a byte-order mark, so
Excel reads the Chinese), an Excel workbook (xlsxwriter) and PNG charts (matplotlib), in
Chinese or English.

Every file is made from a kept report (``features.statistics.report``): the counts in it
are already suppressed, and a suppressed count is an empty cell marked in its own column,
never a number. The words are the pages' catalogue's (serving/locale), the populations'
and support areas' names their definitions' own.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from datetime import date
from typing import Any, Final

import polars as pl
import xlsxwriter
from matplotlib import rc_context
from matplotlib.figure import Figure

from features.statistics.report import TABLES, frame_of
from serving.i18n import translations


def N_(message: str) -> str:  # noqa: N802 - gettext's name for "mark, translate later"
    return message


HEADERS: Final = {
    "table": N_("Table"),
    "month": N_("Month"),
    "level": N_("Level"),
    "place": N_("Place"),
    "area": N_("Area"),
    "group": N_("Population or support"),
    "measure": N_("Measure"),
    "count": N_("Count"),
    "suppressed": N_("Suppressed"),
}
WORDS: Final = {
    "populations": N_("Children served"),
    "support": N_("Support"),
    "district": N_("district"),
    "area": N_("area"),
    "city": N_("city"),
    "all": N_("the whole city"),
    "total": N_("children at the month's end"),
    "new": N_("new in the month"),
    "ended": N_("ended in the month"),
    "children": N_("children supported"),
    "records": N_("records of support"),
    "yuan": N_("yuan recorded"),
    "yes": N_("yes"),
    "no": N_("no"),
    "core": N_("core districts"),
    "inner": N_("inner districts"),
    "outlying": N_("outlying districts"),
    "note": N_(
        "Counts under %(below)d are suppressed, and so is any count that would let one be "
        "worked out from the totals or from the months before."
    ),
    "exported": N_("Counted from the export of %(when)s."),
    "definitions": N_("Definitions"),
    "about": N_("About"),
    "chart_populations": N_("Children served in the whole city, at each month's end"),
    "chart_support": N_("Children supported in the whole city, each month"),
    "all_suppressed": N_("Every count here is suppressed: too few children to show."),
}
CSV_TYPE: Final = "text/csv; charset=utf-8"
XLSX_TYPE: Final = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
PNG_TYPE: Final = "image/png"
FILE_TYPES: Final = {
    "statistics.csv": CSV_TYPE,
    "statistics.xlsx": XLSX_TYPE,
    "populations.png": PNG_TYPE,
    "support.png": PNG_TYPE,
}
FONTS: Final = ["WenQuanYi Micro Hei", "Noto Sans CJK SC", "DejaVu Sans"]


class Words:
    """A language's words for the files: headers, values, and groups by their key."""

    def __init__(self, report: dict[str, Any], language: str) -> None:
        self.language = language
        self._gettext: Callable[[str], str] = translations(language).gettext
        described = report["definitions"]
        self.groups = {
            item["key"]: item["zh" if language.startswith("zh") else "en"]
            for table in TABLES
            for item in described[table]
        }

    def __call__(self, key: str) -> str:
        """A word of WORDS (or, for a district or anything else, the catalogue's)."""
        return self._gettext(WORDS.get(key, key))

    def header(self, column: str) -> str:
        return self._gettext(HEADERS[column])

    def value(self, column: str, value: Any) -> Any:
        if value is None or column in ("count", "month"):
            return value
        if column == "group":
            return self.groups.get(value, value)
        if column == "suppressed":
            return self("yes" if value else "no")
        return self(str(value))


def rows(report: dict[str, Any], words: Words) -> tuple[list[str], list[list[Any]]]:
    """The header and every row of both tables, in ``words``' language."""
    header = [words.header(column) for column in HEADERS]
    out: list[list[Any]] = []
    for table in TABLES:
        frame = frame_of(report, table).with_columns(pl.col("month").dt.to_string("%Y-%m"))
        for row in frame.iter_rows(named=True):
            out.append([words(table), *(words.value(c, row[c]) for c in list(HEADERS)[1:])])
    return header, out


def to_csv(report: dict[str, Any], language: str) -> bytes:
    """Both tables as one CSV, UTF-8 with a byte-order mark."""
    header, body = rows(report, Words(report, language))
    text = io.StringIO()
    writer = csv.writer(text, lineterminator="\r\n")
    writer.writerow(header)
    writer.writerows([_number(cell) for cell in row] for row in body)
    return ("\ufeff" + text.getvalue()).encode("utf-8")


def _number(value: Any) -> Any:
    return int(value) if isinstance(value, float) and value.is_integer() else value


def to_xlsx(report: dict[str, Any], language: str) -> bytes:
    """A workbook: one sheet per table, the definitions, and what the figures are."""
    words = Words(report, language)
    header, body = rows(report, words)
    out = io.BytesIO()
    book = xlsxwriter.Workbook(out, {"in_memory": True})
    bold = book.add_format({"bold": True})
    for table in TABLES:
        sheet = book.add_worksheet(words(table)[:31])
        sheet.write_row(0, 0, header[1:], bold)
        mine = [row[1:] for row in body if row[0] == words(table)]
        for i, row in enumerate(mine, start=1):
            sheet.write_row(i, 0, [_number(cell) for cell in row])
        sheet.autofilter(0, 0, len(mine), len(header) - 2)
        sheet.freeze_panes(1, 0)
        sheet.set_column(0, len(header) - 2, 16)
    _definitions_sheet(book, report, words, bold)
    book.close()
    return out.getvalue()


def _definitions_sheet(book: Any, report: dict[str, Any], words: Words, bold: Any) -> None:
    sheet = book.add_worksheet(words("about")[:31])
    sheet.set_column(0, 0, 40)
    sheet.set_column(1, 1, 80)
    sheet.write(0, 0, words("exported").replace("%(when)s", report["exported_at"]))
    sheet.write(1, 0, words("note").replace("%(below)d", str(report["suppress_below"])))
    line = 3
    sheet.write(line, 0, words("definitions"), bold)
    described = report["definitions"]
    for key, field in (("populations", "any"), ("support", "kinds")):
        for item in described[key]:
            line += 1
            sheet.write(line, 0, words.groups[item["key"]])
            sheet.write(line, 1, "; ".join(item[field]))


def chart_png(report: dict[str, Any], language: str, table: str) -> bytes:
    """The whole city's counts month by month, one line per population (``populations``:
    children at the month's end) or support area (``support``: children supported); a
    suppressed month is a gap, never a guess."""
    words = Words(report, language)
    measure = "total" if table == "populations" else "children"
    frame = frame_of(report, table).filter(
        (pl.col("level") == "city") & (pl.col("measure") == measure)
    )
    with rc_context({"font.sans-serif": FONTS, "font.family": "sans-serif"}):
        figure = Figure(figsize=(9, 4.8), dpi=100)
        axes = figure.subplots()
        for key, label in words.groups.items():
            mine = frame.filter(pl.col("group") == key).sort("month")
            if mine.height:
                axes.plot(mine["month"].to_list(), mine["count"].to_list(), marker="o",
                          markersize=3, label=label)  # fmt: skip
        if frame["count"].is_null().all():
            axes.text(0.5, 0.5, words("all_suppressed"), ha="center", transform=axes.transAxes)
        months = [date.fromisoformat(m) for m in report["months"]]
        axes.set_xlim(months[0], months[-1])  # type: ignore[arg-type]  # dates are fine
        axes.set_title(words(f"chart_{table}"))
        axes.set_ylabel(words(measure))
        axes.set_ylim(bottom=0)
        axes.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.0, 1.0))
        axes.grid(alpha=0.3)
        figure.text(0.01, 0.01, words("note").replace("%(below)d", str(report["suppress_below"])),
                    fontsize=7)  # fmt: skip
        figure.tight_layout(rect=(0, 0.04, 1, 1))
        out = io.BytesIO()
        figure.savefig(out, format="png")
    return out.getvalue()


def file_bytes(report: dict[str, Any], name: str, language: str) -> bytes:
    """One of FILE_TYPES' files of a report, in ``language``."""
    if name == "statistics.csv":
        return to_csv(report, language)
    if name == "statistics.xlsx":
        return to_xlsx(report, language)
    if name in FILE_TYPES:
        return chart_png(report, language, name.removesuffix(".png"))
    raise ValueError(f"no statistics file {name!r} (known: {', '.join(FILE_TYPES)})")
