"""What Steward showed people, read off the sandbox's request log, and the pseudo-locale check.

`visible_texts(sb)` walks every REST call that puts words in front of someone (channel messages
and edits, DMs, webhook executions, interaction responses and follow-ups, modals, threads) and
yields each piece of text with where it was: message content, embed title/description/fields/
footer/author, button labels, select placeholders and options, modal titles and labels.

`unmarked(text, ignore)` is what is left of a text once everything inside the pseudo-locale's
markers is removed, along with mentions, timestamps, links, code, and the given member-provided
words; any letters left came from a string that bypassed the catalog.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from typing import Any

from bot.i18n import PSEUDO_CLOSE, PSEUDO_OPEN

_SPEAKING_ROUTES = ("/messages", "/callback", "/webhooks/", "/threads")
_NOISE = [
    re.compile(r"```.*?```", re.DOTALL),  # code blocks hold member words and links
    re.compile(r"`[^`]*`"),
    re.compile(r"<(?:@[!&]?|#)\d+>"),
    re.compile(r"<t:-?\d+(?::[tTdDfFR])?>"),
    re.compile(r"https?://\S+"),
    re.compile(r"\[[^\]]*\]\(https?://[^)]*\)"),
]
_URL = re.compile(r"https?://[^\s)>`]+")
_CODE = re.compile(r"(?<![\w./])[a-z_]+(?:\.[a-z_]+)+(?![\w./])")  # mod-log actions, finding codes
_WORD = re.compile(r"[^\W\d_]{2,}")


def _component_texts(components: Iterable[dict[str, Any]], where: str) -> Iterator[tuple[str, str]]:
    for comp in components or []:
        for key in ("label", "placeholder", "title", "content", "description"):
            if isinstance(comp.get(key), str):
                yield f"{where} {key}", comp[key]
        for option in comp.get("options") or []:
            for key in ("label", "description"):
                if isinstance(option.get(key), str):
                    yield f"{where} option {key}", option[key]
        yield from _component_texts(comp.get("components") or [], where)
        for key in ("component", "accessory"):  # a label's input, a section's button
            if isinstance(comp.get(key), dict):
                yield from _component_texts([comp[key]], where)


def _message_texts(body: dict[str, Any], where: str) -> Iterator[tuple[str, str]]:
    if isinstance(body.get("content"), str):
        yield f"{where} content", body["content"]
    if isinstance(body.get("title"), str):  # a modal
        yield f"{where} title", body["title"]
    if isinstance(body.get("name"), str) and "threads" in where:
        yield f"{where} thread name", body["name"]
    for embed in body.get("embeds") or []:
        for key in ("title", "description"):
            if isinstance(embed.get(key), str):
                yield f"{where} embed {key}", embed[key]
        for field in embed.get("fields") or []:
            yield f"{where} embed field name", str(field.get("name", ""))
            yield f"{where} embed field value", str(field.get("value", ""))
        for key in ("footer", "author"):
            part = embed.get(key) or {}
            text = part.get("text") or part.get("name")
            if isinstance(text, str):
                yield f"{where} embed {key}", text
    yield from _component_texts(body.get("components") or [], where)
    message = body.get("message")
    if isinstance(message, dict):  # a forum post: the starter message
        yield from _message_texts(message, where)


def visible_texts(sb: Any) -> Iterator[tuple[str, str]]:
    """(where, text) for every piece of text Steward sent to be shown."""
    for request in sb.requests:
        if request.method not in ("POST", "PATCH", "PUT") or not isinstance(request.json, dict):
            continue
        if not any(part in request.path for part in _SPEAKING_ROUTES):
            continue
        where = f"{request.method} {request.route}"
        body = request.json
        if "/callback" in request.path:
            body = body.get("data") or {}
        yield from _message_texts(body, where)


def outside_markers(text: str) -> str:
    """`text` with every ⟦...⟧ span (nested ones too) removed."""
    depth, kept = 0, []
    for char in text:
        if char == PSEUDO_OPEN:
            depth += 1
        elif char == PSEUDO_CLOSE:
            depth = max(0, depth - 1)
        elif depth == 0:
            kept.append(char)
    return "".join(kept)


def unmarked(text: str, ignore: Iterable[str]) -> list[str]:
    """Words left outside the markers once member-provided text and Discord markup are gone."""
    text = _CODE.sub(" ", text)  # first: a channel called "welcome" is not "welcome.resent"
    for phrase in sorted(ignore, key=len, reverse=True):
        if phrase:  # whole words only
            text = re.sub(rf"(?<!\w){re.escape(phrase)}(?!\w)", " ", text)
    text = _URL.sub(" ", text)
    rest = outside_markers(text)
    for noise in _NOISE:
        rest = noise.sub(" ", rest)
    return _WORD.findall(rest)
