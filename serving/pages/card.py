"""The model card on the model page: its Markdown (models.reports.model_card_markdown)
read into sections of paragraphs, lists and tables, so the page renders it as HTML in
the reader's language (each section's heading from the catalogue, serving.pages.words
CARD_SECTION) rather than as raw Markdown. The card's own text stays as written (English)
and the page marks it so. Nothing here is trusted as markup: the template escapes it."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

BlockKind = Literal["p", "ul", "table"]


@dataclass
class Block:
    kind: BlockKind
    lines: list[str] = field(default_factory=list)  # a paragraph's lines, a list's items
    rows: list[list[str]] = field(default_factory=list)  # a table's (first: its header)


@dataclass
class Section:
    heading: str
    blocks: list[Block] = field(default_factory=list)


def read_card(markdown: str) -> tuple[str, list[Section]]:
    """The card's title and its sections ("## " headings), each a list of blocks."""
    title, sections = "", []
    for line in markdown.splitlines():
        text = line.strip()
        if text.startswith("# "):
            title = text[2:].strip()
        elif text.startswith("## "):
            sections.append(Section(text[3:].strip()))
        elif text and sections:
            _add(sections[-1], text)
        elif sections and sections[-1].blocks:
            sections[-1].blocks.append(Block("p"))  # a blank line ends a block
    for section in sections:
        section.blocks = [block for block in section.blocks if block.lines or block.rows]
    return title, sections


def _add(section: Section, text: str) -> None:
    kind: BlockKind = "ul" if text.startswith("- ") else "table" if text.startswith("|") else "p"
    if not section.blocks or section.blocks[-1].kind != kind or _empty(section.blocks[-1]):
        if not section.blocks or not _empty(section.blocks[-1]):
            section.blocks.append(Block(kind))
        else:
            section.blocks[-1].kind = kind
    block = section.blocks[-1]
    if kind == "ul":
        block.lines.append(text[2:])
    elif kind == "table":
        cells = [cell.strip() for cell in text.strip("|").split("|")]
        if not all(set(cell) <= set("-: ") for cell in cells):  # not the |---| rule
            block.rows.append(cells)
    else:
        block.lines.append(text)


def _empty(block: Block) -> bool:
    return not block.lines and not block.rows
