"""Safe message templates: `{name}` placeholders only, validated when saved, capped when rendered.

Only plain names from an allowed set are substituted. `{{` and `}}` stand for literal braces.
There is no attribute or index access, no conversion (`!r`) and no format spec (`:>10`), so a
template can never reach into Python objects. Rendered text has `@everyone`, `@here` and role
mentions defused, in addition to the `allowed_mentions` every send sets.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Set
from dataclasses import dataclass

from bot.domain.text import MESSAGE_LIMIT, truncate
from bot.i18n import tr

_NAME = re.compile(r"[a-z_][a-z0-9_]{0,31}")
_ZWSP = "\u200b"
_MASS_MENTION = re.compile(r"@(everyone|here)")
_ROLE_MENTION = re.compile(r"<@&(\d+)>")


class TemplateError(ValueError):
    """A template is malformed or uses a placeholder that isn't offered."""


@dataclass(frozen=True, slots=True)
class _Part:
    literal: str
    name: str | None


def _parse(template: str) -> list[_Part]:
    parts: list[_Part] = []
    literal: list[str] = []
    i, n = 0, len(template)
    while i < n:
        ch = template[i]
        if ch == "{":
            if template.startswith("{{", i):
                literal.append("{")
                i += 2
                continue
            close = template.find("}", i + 1)
            if close == -1:
                raise TemplateError(tr("unclosed '{' at position {value}", value=i + 1))
            name = template[i + 1 : close]
            if not _NAME.fullmatch(name):
                shown = truncate(name, 40)
                raise TemplateError(
                    tr("'{{shown}}' is not a placeholder (use names like {member})", shown=shown)
                )
            parts.append(_Part("".join(literal), name))
            literal = []
            i = close + 1
        elif ch == "}":
            if template.startswith("}}", i):
                literal.append("}")
                i += 2
                continue
            raise TemplateError(tr("single '}' at position {value} (write '}}' for a brace)",
                                   value=i + 1))
        else:
            literal.append(ch)
            i += 1
    parts.append(_Part("".join(literal), None))
    return parts


def validate(template: str, allowed: Set[str], *, max_length: int = MESSAGE_LIMIT) -> None:
    """Raise TemplateError unless every placeholder is in `allowed` and the syntax is sound."""
    if len(template) > max_length:
        raise TemplateError(tr("the template is longer than {max_length} characters",
                               max_length=max_length))
    unknown = sorted({p.name for p in _parse(template) if p.name and p.name not in allowed})
    if unknown:
        valid = ", ".join("{" + name + "}" for name in sorted(allowed))
        bad = ", ".join("{" + name + "}" for name in unknown)
        raise TemplateError(tr("unknown placeholder {bad}", bad=bad)
                            + tr("; valid ones are: ") + valid)


def defuse_mass_mentions(text: str) -> str:
    """Break `@everyone`, `@here` and role mentions so they render as plain text."""
    text = _MASS_MENTION.sub("@" + _ZWSP + r"\1", text)
    return _ROLE_MENTION.sub("<@&" + _ZWSP + r"\1>", text)


def render(template: str, values: Mapping[str, str], *, limit: int = MESSAGE_LIMIT) -> str:
    """Substitute `values` into a template that passed `validate`; output capped to `limit`.

    Values are inserted as given (they are never parsed as templates themselves). Unknown
    placeholders raise TemplateError, so validate with the same names when saving.
    """
    out: list[str] = []
    for part in _parse(template):
        out.append(part.literal)
        if part.name is not None:
            if part.name not in values:
                raise TemplateError(tr("no value for {{name}}", name=part.name))
            out.append(values[part.name])
    return truncate(defuse_mass_mentions("".join(out)), limit)


# The audit action recorded when a saved template fails at send time and the default is used.
FALLBACK_ACTION = "template.fallback"


def render_or_default(custom: str | None, default: str, values: Mapping[str, str], *,
                      limit: int = MESSAGE_LIMIT) -> tuple[str, bool]:
    """`custom` rendered, or `default` when there is none; `(text, failed)`.

    A saved template that no longer renders (it slipped past validation, e.g. an older
    version or a hand-edited database) never stops the message: the default is rendered
    and `failed` is True so the caller can say so in the mod log.
    """
    if custom:
        try:
            return render(custom, values, limit=limit), False
        except TemplateError:
            return render(default, values, limit=limit), True
    return render(default, values, limit=limit), False
