"""The pages' style sheet against WCAG's contrast rules, read from the sheet itself: a
focus ring a keyboard user cannot see is as bad as none (the old ring, #f2a900 on white,
was 2.0:1)."""

from __future__ import annotations

import re
from importlib import resources

SHEET = (resources.files("serving") / "static" / "site.css").read_text(encoding="utf-8")
FOCUSABLE = ("a", "button", "input", "select", "textarea", "summary")
NON_TEXT_CONTRAST = 3.0  # WCAG 2.2, 1.4.11 and 2.4.13


def _variable(name: str) -> str:
    found = re.findall(rf"--{name}:\s*(#[0-9a-fA-F]{{6}})", SHEET)
    assert found, f"site.css defines no --{name}"
    return found[-1]


def _luminance(colour: str) -> float:
    channels = [int(colour[i : i + 2], 16) / 255 for i in (1, 3, 5)]
    linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def contrast(first: str, second: str) -> float:
    """WCAG's contrast ratio of two #rrggbb colours."""
    light, dark = sorted((_luminance(first), _luminance(second)), reverse=True)
    return (light + 0.05) / (dark + 0.05)


def test_the_contrast_formula_matches_wcag_s_known_values() -> None:
    assert round(contrast("#000000", "#ffffff"), 1) == 21.0
    assert round(contrast("#f2a900", "#ffffff"), 1) == 2.0  # the ring the testers found


def test_the_focus_ring_is_seen_against_the_page() -> None:
    ring = _variable("focus")
    assert contrast(ring, _variable("bg")) >= NON_TEXT_CONTRAST


def test_every_focusable_element_gets_the_ring() -> None:
    rules = re.findall(r"([^{}]+)\{[^}]*outline:\s*3px solid var\(--focus\)", SHEET)
    selectors = {part.strip() for rule in rules for part in rule.split(",")}
    missing = [tag for tag in FOCUSABLE if f"{tag}:focus-visible" not in selectors]
    assert not missing, f"no focus ring for {missing}"
    assert not re.search(r"outline:\s*(none|0)\b", SHEET), "a rule takes the ring away"
