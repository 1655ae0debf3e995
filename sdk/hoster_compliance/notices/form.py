"""The HTML notice form's side of the notice (PROTOCOL 10.2), framework-free: its choices,
the form's fields turned into the JSON notice of ``POST /v1/notices``, and the API's field
errors placed beside the form's fields."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ..protocol import categories
from .schema import ANONYMOUS_SUBCATEGORIES

#: The form's fields, in page order (``website`` is the honeypot: people never see it).
FIELDS = ("urls", "explanation", "kind", "subcategory_other", "name", "email", "good_faith")
HONEYPOT = "website"


@dataclass(frozen=True)
class Choice:
    """One option of the "what kind of content" list: ``value`` is ``CATEGORY`` or
    ``CATEGORY|KEYWORD``."""

    value: str
    label: str
    anonymous: bool


def choices() -> list[tuple[str, list[Choice]]]:
    """The categories of the Commission's list, each with its sub-categories, as option
    groups; the "not specified" categories are the form's empty choice."""
    groups = []
    for category in categories.categories():
        if not category.subcategories:
            continue
        options = [Choice(category.code, f"{category.label}: other or not sure", False)]
        options += [Choice(f"{category.code}|{sub.code}", sub.label,
                           sub.code in ANONYMOUS_SUBCATEGORIES)
                    for sub in category.subcategories if sub.code != categories.KEYWORD_OTHER]
        if categories.KEYWORD_OTHER in category.subcategory_codes:
            options.append(Choice(f"{category.code}|{categories.KEYWORD_OTHER}",
                                  "Something else (describe it below)", False))
        groups.append((category.label, options))
    return groups


def to_notice(form: Mapping[str, str]) -> dict[str, Any]:
    """The JSON notice a submitted form stands for (validated by the same schema as the API)."""
    doc: dict[str, Any] = {
        "urls": [line.strip() for line in form.get("urls", "").splitlines() if line.strip()],
        "explanation": form.get("explanation", "").strip(),
        "good_faith": form.get("good_faith") == "yes",
    }
    kind = form.get("kind", "").strip()
    if kind:
        category, _, subcategory = kind.partition("|")
        doc["category"] = category
        if subcategory:
            doc["subcategory"] = subcategory
    other = form.get("subcategory_other", "").strip()
    if other:
        doc["subcategory_other"] = other
    notifier = {key: form.get(key, "").strip() for key in ("name", "email")}
    notifier = {key: value for key, value in notifier.items() if value}
    if notifier:
        doc["notifier"] = notifier
    return doc


def _messages(value: Any) -> list[str]:
    """Every message in a marshmallow error value (a list, or nested by position)."""
    if isinstance(value, list):
        return [str(v) for v in value if isinstance(v, str)] + [
            m for v in value if not isinstance(v, str) for m in _messages(v)]
    if isinstance(value, dict):
        found = []
        for key, child in value.items():
            prefix = f"Line {int(key) + 1}: " if str(key).isdigit() else ""
            found += [prefix + m for m in _messages(child)]
        return found
    return [str(value)]


def field_errors(fields: Mapping[str, Any] | None) -> dict[str, list[str]]:
    """The API's ``fields`` placed on the form's fields."""
    placed: dict[str, list[str]] = {}
    for key, value in (fields or {}).items():
        if key == "notifier" and isinstance(value, dict):
            for sub, messages in value.items():
                target = sub if sub in ("name", "email") else "name"
                placed.setdefault(target, []).extend(_messages(messages))
            continue
        target = {"category": "kind", "subcategory": "kind", "notifier": "name"}.get(key, key)
        if target not in FIELDS:
            target = "explanation" if key == "_schema" else "urls"
        placed.setdefault(target, []).extend(_messages(value))
    return placed
