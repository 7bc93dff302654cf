import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.domain.templates import (
    TemplateError,
    defuse_mass_mentions,
    render,
    render_or_default,
    validate,
)

NAMES = {"member", "server", "groups"}


def test_render_substitutes_named_placeholders():
    out = render("Welcome {member} to {server}!", {"member": "<@1>", "server": "Hope"})
    assert out == "Welcome <@1> to Hope!"


def test_double_braces_are_literal():
    assert render("{{member}} is {member}", {"member": "x"}) == "{member} is x"


@pytest.mark.parametrize(
    "template",
    ["{member.__class__}", "{0}", "{member!r}", "{member:>10}", "{", "}", "{unknown}", "{ member}"],
)
def test_tricks_and_unknown_names_are_rejected_with_the_valid_list(template):
    with pytest.raises(TemplateError) as info:
        validate(template, NAMES)
    if "unknown" in template:
        assert "{groups}, {member}, {server}" in str(info.value)


def test_values_are_not_reparsed_as_templates():
    assert render("{member}", {"member": "{server}"}) == "{server}"


def test_mass_mentions_in_templates_or_values_are_defused():
    out = render("@everyone hi {member} <@&42> @here", {"member": "@everyone"})
    assert "@everyone" not in out and "@here" not in out and "<@&42>" not in out
    assert "hi" in out


def test_output_is_capped():
    assert len(render("{member}", {"member": "x" * 5000})) == 2000


@given(st.text(max_size=300), st.dictionaries(st.sampled_from(sorted(NAMES)), st.text(max_size=50)))
def test_arbitrary_templates_never_raise_unexpectedly_or_ping_everyone(template, values):
    values = {name: values.get(name, "v") for name in NAMES}
    try:
        validate(template, NAMES)
    except TemplateError:
        return
    out = render(template, values)
    assert "@everyone" not in out and "@here" not in out
    assert len(out) <= 2000


@given(st.text(max_size=200))
def test_defuse_is_idempotent_and_removes_mass_mentions(text):
    once = defuse_mass_mentions(text)
    assert defuse_mass_mentions(once) == once
    assert "@everyone" not in once and "@here" not in once


def test_render_or_default_falls_back_and_says_so():
    values = {"member": "<@1>"}
    assert render_or_default("Hi {member}", "Hello {member}", values) == ("Hi <@1>", False)
    assert render_or_default(None, "Hello {member}", values) == ("Hello <@1>", False)
    assert render_or_default("Hi {x}", "Hello {member}", values) == ("Hello <@1>", True)
    assert render_or_default("Hi {", "Hello {member}", values) == ("Hello <@1>", True)
