"""The body of ``POST /v1/notices`` (PROTOCOL 10.2), validated like every input: unknown fields
rejected, every problem reported at once in marshmallow's nested shape."""

from __future__ import annotations

from typing import Any

from marshmallow import RAISE, Schema, ValidationError, fields, validate, validates_schema

from ..errors import InvalidPayload
from ..protocol import categories
from ..protocol.fields import StrictBoolean, StrictString
from ..protocol.schemas_in import OrderCreatedSchema, _string_keys, reject_nul
from ..vocabulary import NOTICE

#: Sub-categories for which the notifier may stay anonymous (Art. 16(2)(c) DSA: the offences of
#: Arts 3-7 of Directive 2011/93/EU).
ANONYMOUS_SUBCATEGORIES: tuple[str, ...] = (
    "KEYWORD_CHILD_SEXUAL_ABUSE_MATERIAL",
    "KEYWORD_CHILD_SEXUAL_ABUSE_MATERIAL_DEEPFAKE",
    "KEYWORD_GROOMING_SEXUAL_ENTICEMENT_MINORS",
)
MAX_URLS = 100
_MISSING = "Missing data for required field."
_URL = [
    validate.Length(max=2048),
    validate.URL(relative=False, schemes={"http", "https"}, require_tld=False),
]


def _no_duplicates(urls: list[str]) -> None:
    if len(set(urls)) != len(urls):
        raise ValidationError("The same URL is listed twice.")


def _not_blank(value: str) -> None:
    if not value.strip():
        raise ValidationError("Must not be blank.")


class NotifierSchema(Schema):
    """``{"name", "email"}``; which of them are required is the notice's rule."""

    class Meta:
        unknown = RAISE

    name = StrictString(validate=[validate.Length(min=1, max=200), _not_blank])
    email = StrictString(validate=[validate.Length(max=254), validate.Email()])


class NoticeSchema(Schema):
    """A notice from anyone (PROTOCOL 10.2)."""

    class Meta:
        unknown = RAISE

    urls = fields.List(StrictString(validate=_URL), required=True,
                       validate=[validate.Length(min=1, max=MAX_URLS), _no_duplicates])
    explanation = StrictString(required=True, validate=validate.Length(min=10, max=10000))
    category = StrictString(validate=validate.OneOf(categories.CATEGORIES))
    subcategory = StrictString()
    subcategory_other = StrictString(validate=[validate.Length(max=500), _not_blank])
    notifier = fields.Nested(NotifierSchema)
    good_faith = StrictBoolean(required=True)

    @validates_schema(pass_original=True, skip_on_field_errors=False)
    def _cross_field_rules(self, data: dict[str, Any], original: Any, **kwargs: Any) -> None:
        if not isinstance(original, dict):
            return
        errors: dict[str, Any] = {}
        if original.get("good_faith") is False:
            errors["good_faith"] = ["You must confirm that the notice is accurate and complete, "
                                    "in good faith."]
        # The sub-category rules of an order.created notice, stated once there.
        OrderCreatedSchema._check_subcategory(data, original, NOTICE, errors)
        anonymous = original.get("subcategory") in ANONYMOUS_SUBCATEGORIES
        notifier = original.get("notifier")
        if not anonymous:
            if notifier is None:
                errors["notifier"] = [_MISSING + " Only notices of child sexual abuse may be "
                                      "anonymous."]
            elif isinstance(notifier, dict):
                missing = {key: [_MISSING] for key in ("name", "email") if key not in notifier}
                if missing:
                    errors["notifier"] = missing
        if errors:
            raise ValidationError(errors)


_NOTICE = NoticeSchema()


def load_notice(doc: object) -> dict[str, Any]:
    """Validate a parsed notice; ``InvalidPayload`` with ``fields`` on any problem."""
    if isinstance(doc, dict) and isinstance(doc.get("urls"), list) \
            and len(doc["urls"]) > MAX_URLS:
        # A list beyond its limit is refused before its elements are looked at.
        raise InvalidPayload("The notice is invalid.",
                             fields={"urls": [f"Longer than maximum length {MAX_URLS}."]})
    reject_nul(doc)
    try:
        loaded: dict[str, Any] = _NOTICE.load(doc)  # type: ignore[arg-type]
    except ValidationError as exc:
        raise InvalidPayload("The notice is invalid.", fields=_string_keys(exc.messages)) from exc
    return loaded

