"""Babel extraction for Steward's Python files: `tr`/`trn`/`N_` calls plus slash-command text.

Command names, option names, descriptions and choices are written as plain arguments of
discord.py's decorators (`@group.command(name=..., description=...)`, `describe(...)`,
`Literal["on", "off"]`, ...). discord.py hands each of them to our `app_commands.Translator`
when it registers the commands, so they belong in the catalog too: names and choices under the
message context "command" (so `settings` the command never collides with a sentence), and
descriptions as plain messages. The demo's narration (`story.say("…")`, `heading`, `voice`,
`later("…")` in bot/demo) goes in under the message context "demo".
"""

from __future__ import annotations

import ast
import io
from collections.abc import Collection, Iterator, Mapping
from typing import IO, Any

from babel.messages.extract import extract_python

from bot.i18n import COMMAND_CONTEXT, DEMO_CONTEXT

Result = tuple[int, Any, Any, Any]

_COMMAND_FACTORIES = {"command", "Group", "ContextMenu", "context_menu"}
_SKIPPED_PARAMETERS = {"self", "interaction", "message", "target", "current"}
# The demo's narration (bot/demo): `story.say("…")`, `heading`, `voice`, `later("note")`.
_DEMO_VOICES = {"say", "heading", "voice", "later"}


def extract_steward(fileobj: IO[bytes], keywords: Mapping[str, Any] | Collection[str],
                    comment_tags: Collection[str], options: Mapping[str, Any]) -> Iterator[Result]:
    """Everything `extract_python` finds, then the file's command names and descriptions."""
    source = fileobj.read()
    yield from extract_python(io.BytesIO(source), keywords, comment_tags,  # type: ignore[arg-type]
                              options)  # type: ignore[arg-type]
    yield from command_strings(source.decode("utf-8"))


def command_strings(source: str) -> Iterator[Result]:
    """(line, "pgettext" or "gettext", message, []) for each command string in `source`."""
    tree = ast.parse(source)
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            yield from _from_call(node)
        elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and _is_command(node):
            for arg in node.args.args:
                if arg.arg not in _SKIPPED_PARAMETERS:
                    yield node.lineno, "pgettext", (COMMAND_CONTEXT, arg.arg), []
                    yield from _literal_choices(arg.annotation)


def _name_of(func: ast.expr) -> str:
    if isinstance(func, ast.Attribute):
        return func.attr
    return func.id if isinstance(func, ast.Name) else ""


def _text(node: ast.expr | None) -> str | None:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):  # "a " "b" split lines
        left, right = _text(node.left), _text(node.right)
        return left + right if left is not None and right is not None else None
    return None


def _from_call(call: ast.Call) -> Iterator[Result]:
    name = _name_of(call.func)
    keywords = {k.arg: k.value for k in call.keywords if k.arg}
    if name in _COMMAND_FACTORIES:
        command_name = _text(keywords.get("name"))
        if command_name is not None:
            yield call.lineno, "pgettext", (COMMAND_CONTEXT, command_name), []
        description = _text(keywords.get("description"))
        if description is not None:
            yield call.lineno, "gettext", description, []
    elif name == "describe":
        for value in keywords.values():
            text = _text(value)
            if text is not None:
                yield call.lineno, "gettext", text, []
    elif name == "rename":
        for value in keywords.values():
            text = _text(value)
            if text is not None:
                yield call.lineno, "pgettext", (COMMAND_CONTEXT, text), []
    elif name in _DEMO_VOICES:
        first = call.args[0] if call.args else keywords.get("note")
        text = _text(first)
        if text is not None:
            yield call.lineno, "pgettext", (DEMO_CONTEXT, text), []
    elif name == "Choice":
        text = _text(keywords.get("name"))
        if text is not None:
            yield call.lineno, "pgettext", (COMMAND_CONTEXT, text), []


def _is_command(func: ast.FunctionDef | ast.AsyncFunctionDef) -> bool:
    return any(isinstance(d, ast.Call) and _name_of(d.func) == "command"
               for d in func.decorator_list)


def _literal_choices(annotation: ast.expr | None) -> Iterator[Result]:
    if annotation is None:
        return
    for node in ast.walk(annotation):
        if (isinstance(node, ast.Subscript) and _name_of(node.value) == "Literal"):
            values = node.slice.elts if isinstance(node.slice, ast.Tuple) else [node.slice]
            for value in values:
                text = _text(value)
                if text is not None:
                    yield node.lineno, "pgettext", (COMMAND_CONTEXT, text), []

