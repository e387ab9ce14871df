"""The monitoring checks in words, for the queue's warning and the model page: each
check's subject (a source, a source in a district, a kind of record's column, a way of
linking, a district, a feature) said in the page's language."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, Final

from features.registry import Registry
from features.vocabulary import EVENT_LABELS, SOURCE_LABELS, Label
from serving.champion import ModelUnavailableError
from serving.i18n import translations
from serving.pages.words import DISTRICT
from serving.service import Service

LINKED: Final = {
    "id_number": Label("by ID number", "按身份证号"),
    "model": Label("by the matching model or a reviewer", "按匹配模型或人工复核"),
    "single": Label("left single", "未关联"),
}
COLUMNS: Final = {
    "severity": Label("severity", "严重程度"),
    "amount": Label("amount", "数额"),
    "detail": Label("detail", "详情"),
}


def served_registry(service: Service) -> Registry | None:
    """The served model's features (their descriptions say a drift check's subject)."""
    try:
        return service.served().model.registry
    except ModelUnavailableError:
        return None


def subject_words(language: str, registry: Registry | None) -> Callable[[Mapping[str, Any]], str]:
    """``say(check)``: the check's subject in ``language`` (a code it does not know, as
    it is)."""
    zh = language == "zh-CN"
    gettext = translations(language).gettext

    def label(found: Label | None, code: str) -> str:
        return (found.zh if zh else found.en) if found else code

    def district(code: str) -> str:
        return gettext(DISTRICT[code]) if code in DISTRICT else code

    def say(check: Mapping[str, Any]) -> str:

        kind, subject = check["kind"], str(check["subject"])
        if kind == "volume":
            source, _, place = subject.partition("/")
            said = label(SOURCE_LABELS.get(source), source)
            return f"{said} · {district(place)}" if place else said
        if kind == "late":
            return label(SOURCE_LABELS.get(subject), subject)
        if kind in ("missing", "linkage"):
            first, _, second = subject.partition(" ")
            labels = EVENT_LABELS if kind == "missing" else SOURCE_LABELS
            other = COLUMNS if kind == "missing" else LINKED
            return f"{label(labels.get(first), first)} · {label(other.get(second), second)}"
        if kind == "flags":
            return district(subject)
        if kind == "drift" and registry is not None and subject in registry.names:
            spec = registry[subject]
            return spec.description_zh if zh else spec.description_en
        return subject

    return say
