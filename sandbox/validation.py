"""Discord's limits on message/webhook/modal payloads, raising Discord's errors.

Each function raises :class:`~sandbox.errors.ApiError` with the code Discord uses
(50035 Invalid Form Body with a nested ``errors`` object, 50006 for empty messages).
"""

from __future__ import annotations

import re
from typing import Any

from sandbox.errors import (
    ApiError,
    empty_message,
    invalid_form_body,
    too_long,
    too_many,
)
from sandbox.models import MessageFlags, iter_components

CONTENT_MAX = 2000
EMBEDS_MAX = 10
EMBED_TOTAL_MAX = 6000
EMBED_FIELDS_MAX = 25
CUSTOM_ID_MAX = 100
LABEL_MAX = 80
ROWS_MAX = 5
ROW_BUTTONS_MAX = 5
SELECT_OPTIONS_MAX = 25
MODAL_TITLE_MAX = 45
MODAL_COMPONENTS_MAX = 5
TEXT_INPUT_LABEL_MAX = 45
TEXT_INPUT_VALUE_MAX = 4000
WEBHOOK_NAME_MAX = 80


def _len(value: Any) -> int:
    return len(value) if isinstance(value, str) else 0


def validate_embeds(embeds: list[dict[str, Any]], prefix: str = "embeds") -> None:
    if len(embeds) > EMBEDS_MAX:
        raise too_many(prefix, EMBEDS_MAX)
    total = 0
    for i, embed in enumerate(embeds):
        p = f"{prefix}.{i}"
        checks: list[tuple[str, Any, int]] = [
            ("title", embed.get("title"), 256),
            ("description", embed.get("description"), 4096),
            ("footer.text", (embed.get("footer") or {}).get("text"), 2048),
            ("author.name", (embed.get("author") or {}).get("name"), 256),
        ]
        for name, value, limit in checks:
            if _len(value) > limit:
                raise too_long(f"{p}.{name}", limit)
            total += _len(value)
        fields = embed.get("fields") or []
        if len(fields) > EMBED_FIELDS_MAX:
            raise too_many(f"{p}.fields", EMBED_FIELDS_MAX)
        for j, fld in enumerate(fields):
            if _len(fld.get("name")) > 256:
                raise too_long(f"{p}.fields.{j}.name", 256)
            if _len(fld.get("value")) > 1024:
                raise too_long(f"{p}.fields.{j}.value", 1024)
            total += _len(fld.get("name")) + _len(fld.get("value"))
    if total > EMBED_TOTAL_MAX:
        raise invalid_form_body(
            prefix, "MAX_EMBED_SIZE_EXCEEDED", "Embed size exceeds maximum size of 6000"
        )


def _validate_item(comp: dict[str, Any], p: str) -> None:
    custom_id = comp.get("custom_id")
    if _len(custom_id) > CUSTOM_ID_MAX:
        raise too_long(f"{p}.custom_id", CUSTOM_ID_MAX)
    if comp.get("type") == 2:
        if _len(comp.get("label")) > LABEL_MAX:
            raise too_long(f"{p}.label", LABEL_MAX)
        if comp.get("style") != 5 and comp.get("style") != 6 and not custom_id:
            raise invalid_form_body(
                f"{p}.custom_id", "BASE_TYPE_REQUIRED", "This field is required"
            )
    if comp.get("type") == 3:
        options = comp.get("options") or []
        if len(options) > SELECT_OPTIONS_MAX:
            raise too_many(f"{p}.options", SELECT_OPTIONS_MAX)
        for k, opt in enumerate(options):
            if _len(opt.get("label")) > 100:
                raise too_long(f"{p}.options.{k}.label", 100)
            if _len(opt.get("value")) > 100:
                raise too_long(f"{p}.options.{k}.value", 100)


# Components V2 (message flag IS_COMPONENTS_V2): layout types and where they may sit.
V2_COMPONENTS_MAX = 40  # every component counted, nested ones included
V2_TEXT_MAX = 4000  # all text displays of a message together
MEDIA_GALLERY_ITEMS = (1, 10)
SECTION_TEXTS = (1, 3)
V2_TOP_LEVEL = {1, 9, 10, 12, 13, 14, 17}
V2_IN_CONTAINER = {1, 9, 10, 12, 13, 14}
SELECT_TYPES = {3, 5, 6, 7, 8}


def _union_error(path: str, allowed: set[int]) -> ApiError:
    shown = ", ".join(str(t) for t in sorted(allowed))
    return invalid_form_body(f"{path}.type", "UNION_TYPE_CHOICES",
                             f'Value of field "type" must be one of ({shown}).')


def _validate_row(row: dict[str, Any], p: str) -> None:
    children = row.get("components") or []
    if not children:
        raise invalid_form_body(f"{p}.components", "BASE_TYPE_BAD_LENGTH",
                                "Must be between 1 and 5 in length.")
    if len(children) > ROW_BUTTONS_MAX:
        raise too_many(f"{p}.components", ROW_BUTTONS_MAX)
    selects = [c for c in children if c.get("type") in SELECT_TYPES]
    if selects and len(children) > 1:
        raise invalid_form_body(f"{p}.components", "COMPONENT_LAYOUT_WIDTH_EXCEEDED",
                                "The specified component exceeds the maximum width")
    for j, child in enumerate(children):
        if child.get("type") not in {2} | SELECT_TYPES:
            raise _union_error(f"{p}.components.{j}", {2} | SELECT_TYPES)
        _validate_item(child, f"{p}.components.{j}")


def _validate_v2_node(comp: dict[str, Any], p: str, allowed: set[int]) -> None:
    kind = comp.get("type")
    if kind not in allowed:
        raise _union_error(p, allowed)
    if kind == 1:
        _validate_row(comp, p)
    elif kind == 9:  # section: 1-3 text displays beside a button or thumbnail
        texts = comp.get("components") or []
        if not SECTION_TEXTS[0] <= len(texts) <= SECTION_TEXTS[1]:
            raise invalid_form_body(f"{p}.components", "BASE_TYPE_BAD_LENGTH",
                                    "Must be between 1 and 3 in length.")
        for j, text in enumerate(texts):
            _validate_v2_node(text, f"{p}.components.{j}", {10})
        accessory = comp.get("accessory")
        if not isinstance(accessory, dict):
            raise invalid_form_body(f"{p}.accessory", "BASE_TYPE_REQUIRED",
                                    "This field is required")
        if accessory.get("type") not in (2, 11):
            raise _union_error(f"{p}.accessory", {2, 11})
        _validate_item(accessory, f"{p}.accessory")
    elif kind == 10:
        if not isinstance(comp.get("content"), str) or not comp["content"]:
            raise invalid_form_body(f"{p}.content", "BASE_TYPE_REQUIRED",
                                    "This field is required")
    elif kind == 12:
        items = comp.get("items") or []
        low, high = MEDIA_GALLERY_ITEMS
        if not low <= len(items) <= high:
            raise invalid_form_body(f"{p}.items", "BASE_TYPE_BAD_LENGTH",
                                    f"Must be between {low} and {high} in length.")
        for j, item in enumerate(items):
            url = (item.get("media") or {}).get("url")
            if not isinstance(url, str) or not url:
                raise invalid_form_body(f"{p}.items.{j}.media.url", "BASE_TYPE_REQUIRED",
                                        "This field is required")
    elif kind == 17:
        children = comp.get("components") or []
        if not children:
            raise invalid_form_body(f"{p}.components", "BASE_TYPE_BAD_LENGTH",
                                    "Must be between 1 and 40 in length.")
        for j, child in enumerate(children):
            _validate_v2_node(child, f"{p}.components.{j}", V2_IN_CONTAINER)


def validate_attachment_refs(components: list[dict[str, Any]], names: Any) -> None:
    """Every ``attachment://name`` a V2 layout shows must be a file of the message."""
    for comp in iter_components(components):
        media = [i.get("media") or {} for i in comp.get("items") or []]
        if comp.get("type") in (11, 13):
            media.append(comp.get("media") or comp.get("file") or {})
        for item in media:
            url = str(item.get("url") or "")
            if url.startswith("attachment://") and url[13:] not in names:
                raise invalid_form_body(
                    "components", "UNFURLED_MEDIA_ITEM_ATTACHMENT_NOT_FOUND",
                    f"Attachment {url[13:]!r} is not an attachment of this message")


def validate_v2_layout(components: list[dict[str, Any]]) -> None:
    """A Components V2 message: allowed types and nesting (no container in a container, a
    section needs an accessory), <= 40 components in all, 1-10 gallery items, <= 4,000
    characters of text displays, unique custom_ids."""
    if not components:
        raise invalid_form_body("components", "BASE_TYPE_REQUIRED", "This field is required")
    for i, comp in enumerate(components):
        _validate_v2_node(comp, f"components.{i}", V2_TOP_LEVEL)
    every = iter_components(components)
    if len(every) > V2_COMPONENTS_MAX:
        raise invalid_form_body("components", "COMPONENT_MAX_TOTAL_COMPONENTS_EXCEEDED",
                                f"The maximum number of components is {V2_COMPONENTS_MAX}")
    text = sum(len(c.get("content") or "") for c in every if c.get("type") == 10)
    if text > V2_TEXT_MAX:
        raise invalid_form_body("components", "COMPONENT_MAX_TEXT_LENGTH_EXCEEDED",
                                f"The maximum text length of a message is {V2_TEXT_MAX}")
    ids = [c["custom_id"] for c in every if c.get("custom_id")]
    if len(ids) != len(set(ids)):
        raise invalid_form_body("components", "COMPONENT_CUSTOM_ID_DUPLICATED",
                                "Component custom id cannot be duplicated")


def validate_components(components: list[dict[str, Any]], *, v2: bool = False) -> None:
    """Action rows: <= 5 rows, <= 5 buttons or 1 select per row, id/label lengths (and the
    Components V2 layout rules when `v2`)."""
    if v2:
        validate_v2_layout(components)
        for k, comp in enumerate(iter_components(components)):
            _validate_item(comp, f"components.{k}")
        return
    if not v2 and len(components) > ROWS_MAX:
        raise too_many("components", ROWS_MAX)
    for i, row in enumerate(components):
        if row.get("type") == 1:
            children = row.get("components") or []
            if len(children) > ROW_BUTTONS_MAX:
                raise too_many(f"components.{i}.components", ROW_BUTTONS_MAX)
            for j, child in enumerate(children):
                _validate_item(child, f"components.{i}.components.{j}")
        elif not v2:
            raise invalid_form_body(
                f"components.{i}", "UNION_TYPE_CHOICES",
                "Value of field \"type\" must be one of (1,).",
            )


def validate_allowed_mentions(am: dict[str, Any] | None) -> None:
    if not am:
        return
    parse = am.get("parse") or []
    for kind in ("users", "roles"):
        if kind in parse and am.get(kind):
            raise invalid_form_body(
                f"allowed_mentions.{kind}",
                "MESSAGE_ALLOWED_MENTIONS_PARSE_EXCLUSIVE",
                f'parse:["{kind}"] and {kind}: [ids...] are mutually exclusive.',
            )


def validate_message(
    payload: dict[str, Any],
    *,
    file_count: int = 0,
    keep_attachments: int = 0,
    edit: bool = False,
    current_flags: int = 0,
    current_text: bool = False,
    attachment_names: Any = None,
) -> None:
    """Validate a message create/edit body (content, embeds, components, mentions).

    On an edit, `current_flags` are the message's flags and `current_text` says whether it
    still has content or embeds the body doesn't clear (both matter for Components V2).
    """
    content = payload.get("content")
    if content is not None and not isinstance(content, str):
        content = str(content)
    if content is not None and len(content) > CONTENT_MAX:
        raise too_long("content", CONTENT_MAX)
    embeds = payload.get("embeds") or []
    if payload.get("embed"):
        embeds = [*embeds, payload["embed"]]
    validate_embeds(embeds)
    flags = int(payload.get("flags") or 0) | current_flags
    v2 = bool(flags & MessageFlags.IS_COMPONENTS_V2)
    components = payload.get("components") or []
    if v2 and (edit and "components" not in payload):
        pass  # an edit that leaves the layout as it is
    else:
        validate_components(components, v2=v2)
    validate_allowed_mentions(payload.get("allowed_mentions"))
    if v2 and (content or embeds or payload.get("poll") or payload.get("sticker_ids")):
        raise invalid_form_body(
            "content", "MESSAGE_CANNOT_USE_LEGACY_FIELDS_WITH_COMPONENTS_V2",
            "The 'content' and 'embeds' fields cannot be used when using the "
            "IS_COMPONENTS_V2 flag",
        )
    if v2 and attachment_names is not None and "components" in payload:
        validate_attachment_refs(components, attachment_names)
    if (edit and current_flags & MessageFlags.IS_COMPONENTS_V2 and "flags" in payload
            and not int(payload["flags"] or 0) & MessageFlags.IS_COMPONENTS_V2):
        raise invalid_form_body("flags", "MESSAGE_CANNOT_REMOVE_COMPONENTS_V2_FLAG",
                                "The IS_COMPONENTS_V2 flag cannot be removed")
    if v2 and edit and current_text and not (
            "content" in payload and not content and "embeds" in payload and not embeds):
        raise invalid_form_body(
            "content", "MESSAGE_CANNOT_USE_LEGACY_FIELDS_WITH_COMPONENTS_V2",
            "The 'content' and 'embeds' fields cannot be used when using the "
            "IS_COMPONENTS_V2 flag",
        )
    if edit:
        return
    has_body = (
        bool(content)
        or bool(embeds)
        or bool(components)
        or file_count > 0
        or keep_attachments > 0
        or bool(payload.get("sticker_ids"))
        or bool(payload.get("poll"))
        or _is_forward(payload)
    )
    if not has_body:
        raise empty_message()


def _is_forward(payload: dict[str, Any]) -> bool:
    ref = payload.get("message_reference")
    return isinstance(ref, dict) and ref.get("type") == 1


def validate_webhook_username(name: Any, field: str = "username") -> None:
    """Discord rejects empty names, > 80 chars, and names containing discord/clyde."""
    if name is None:
        return
    if not isinstance(name, str) or not name.strip():
        raise invalid_form_body(
            field, "BASE_TYPE_BAD_LENGTH", "Must be between 1 and 80 in length."
        )
    if len(name) > WEBHOOK_NAME_MAX:
        raise invalid_form_body(
            field, "BASE_TYPE_BAD_LENGTH", "Must be between 1 and 80 in length."
        )
    lowered = name.lower()
    for word in ("discord", "clyde"):
        if word in lowered:
            raise invalid_form_body(
                field, "USERNAME_INVALID_CONTAINS",
                f'Username cannot contain "{word}"',
            )


def validate_modal(data: dict[str, Any]) -> None:
    """Modal (callback type 9) limits: title 45, <= 5 components, text inputs."""
    title = data.get("title")
    if not title:
        raise invalid_form_body("data.title", "BASE_TYPE_REQUIRED", "This field is required")
    if len(title) > MODAL_TITLE_MAX:
        raise too_long("data.title", MODAL_TITLE_MAX)
    if _len(data.get("custom_id")) > CUSTOM_ID_MAX:
        raise too_long("data.custom_id", CUSTOM_ID_MAX)
    components = data.get("components") or []
    if not components:
        raise invalid_form_body(
            "data.components", "BASE_TYPE_REQUIRED", "This field is required"
        )
    if len(components) > MODAL_COMPONENTS_MAX:
        raise too_many("data.components", MODAL_COMPONENTS_MAX)
    for i, comp in enumerate(iter_components(components)):
        p = f"data.components.{i}"
        if comp.get("type") == 18 and _len(comp.get("label")) > TEXT_INPUT_LABEL_MAX:
            raise too_long(f"{p}.label", TEXT_INPUT_LABEL_MAX)
        if comp.get("type") != 4:
            if comp.get("type") in (3, 5, 6, 7, 8):
                _validate_item(comp, p)
            continue
        if _len(comp.get("label")) > TEXT_INPUT_LABEL_MAX:
            raise too_long(f"{p}.label", TEXT_INPUT_LABEL_MAX)
        if _len(comp.get("custom_id")) > CUSTOM_ID_MAX:
            raise too_long(f"{p}.custom_id", CUSTOM_ID_MAX)
        if _len(comp.get("value")) > TEXT_INPUT_VALUE_MAX:
            raise too_long(f"{p}.value", TEXT_INPUT_VALUE_MAX)
        for key in ("max_length", "min_length"):
            value = comp.get(key)
            if isinstance(value, int) and value > TEXT_INPUT_VALUE_MAX:
                raise invalid_form_body(
                    f"{p}.{key}", "NUMBER_TYPE_MAX",
                    f"int value should be less than or equal to {TEXT_INPUT_VALUE_MAX}.",
                )


__all__ = [
    "ApiError",
    "validate_allowed_mentions",
    "validate_components",
    "validate_embeds",
    "validate_message",
    "validate_modal",
    "validate_attachment_refs",
    "validate_v2_layout",
    "validate_webhook_username",
]


# Discord's locales for name/description localizations (a subset is enough to catch typos).
DISCORD_LOCALES = frozenset({
    "id", "da", "de", "en-GB", "en-US", "es-ES", "es-419", "fr", "hr", "it", "lt", "hu", "nl",
    "no", "pl", "pt-BR", "ro", "fi", "sv-SE", "vi", "tr", "cs", "el", "bg", "ru", "uk", "hi",
    "th", "zh-CN", "ja", "zh-TW", "ko",
})
_COMMAND_NAME = re.compile(r"^[-_\w]{1,32}$")


def _check_names(names: dict[str, Any] | None, field: str, *, chat_input: bool,
                 limit: int = 32) -> None:
    for locale, text in (names or {}).items():
        where = f"{field}.{locale}"
        if locale not in DISCORD_LOCALES:
            raise invalid_form_body(where, "LOCALE_INVALID", f"Invalid locale {locale!r}.")
        if not isinstance(text, str) or not 1 <= len(text) <= limit:
            raise invalid_form_body(where, "BASE_TYPE_BAD_LENGTH",
                                    f"Must be between 1 and {limit} in length.")
        if chat_input and (not _COMMAND_NAME.match(text) or text != text.lower()):
            raise invalid_form_body(where, "APPLICATION_COMMAND_INVALID_NAME",
                                    "Command name is invalid")


def _check_descriptions(descriptions: dict[str, Any] | None, field: str) -> None:
    for locale, text in (descriptions or {}).items():
        if locale not in DISCORD_LOCALES:
            raise invalid_form_body(f"{field}.{locale}", "LOCALE_INVALID",
                                    f"Invalid locale {locale!r}.")
        if not isinstance(text, str) or not 1 <= len(text) <= 100:
            raise invalid_form_body(f"{field}.{locale}", "BASE_TYPE_BAD_LENGTH",
                                    "Must be between 1 and 100 in length.")


def _validate_options(options: list[dict[str, Any]], prefix: str) -> None:
    seen: dict[str, set[str]] = {}
    for i, option in enumerate(options):
        p = f"{prefix}.{i}"
        _check_names(option.get("name_localizations"), f"{p}.name_localizations",
                     chat_input=True)
        _check_descriptions(option.get("description_localizations"),
                            f"{p}.description_localizations")
        for locale, text in (option.get("name_localizations") or {}).items():
            if text in seen.setdefault(locale, set()):
                raise invalid_form_body(f"{p}.name_localizations.{locale}",
                                        "APPLICATION_COMMAND_OPTIONS_NAME_ALREADY_EXISTS",
                                        "Option name already exists")
            seen[locale].add(text)
        for j, choice in enumerate(option.get("choices") or []):
            _check_names(choice.get("name_localizations"),
                         f"{p}.choices.{j}.name_localizations", chat_input=False, limit=100)
        _validate_options(option.get("options") or [], f"{p}.options")


def validate_command(data: dict[str, Any], index: int) -> None:
    """The names, descriptions and their localizations of one registered command."""
    chat_input = int(data.get("type") or 1) == 1
    _check_names(data.get("name_localizations"), f"{index}.name_localizations",
                 chat_input=chat_input)
    _check_descriptions(data.get("description_localizations"),
                        f"{index}.description_localizations")
    _validate_options(data.get("options") or [], f"{index}.options")
