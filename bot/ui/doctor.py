"""The doctor's report as an embed: each finding with its exact fix, or an all-clear."""

from __future__ import annotations

from collections.abc import Sequence

import discord

from bot.domain.doctor import Finding, Severity
from bot.domain.text import plural

MAX_REPORTED = 15


def render_report(findings: Sequence[Finding], *, changed: bool = False) -> discord.Embed:
    """One embed listing findings with their fixes (or an all-clear)."""
    if not findings:
        return discord.Embed(
            title="Steward doctor: all clear",
            description="Everything Steward needs is in place."
            + (" The problems reported earlier are fixed." if changed else ""),
            colour=discord.Colour.green(),
        )
    problems = sum(1 for f in findings if f.severity is Severity.PROBLEM)
    title = (f"Steward doctor: {plural(problems, 'problem')}, "
             f"{plural(len(findings) - problems, 'warning')}")
    embed = discord.Embed(
        title=title,
        colour=discord.Colour.red() if problems else discord.Colour.gold(),
        description="Each item says what is wrong and exactly how to fix it. "
        "Run `/steward doctor` again after fixing.",
    )
    for finding in findings[:MAX_REPORTED]:
        icon = "❌" if finding.severity is Severity.PROBLEM else "⚠️"
        embed.add_field(name=f"{icon} {finding.code}",
                        value=f"{finding.message}\n**Fix:** {finding.fix}", inline=False)
    if len(findings) > MAX_REPORTED:
        embed.set_footer(text=f"and {len(findings) - MAX_REPORTED} more: run /steward doctor")
    return embed
