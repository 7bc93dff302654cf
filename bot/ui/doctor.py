"""The doctor's report as an embed: each finding with its exact fix, or an all-clear."""

from __future__ import annotations

from collections.abc import Sequence

import discord

from bot.domain.doctor import Finding, Severity
from bot.domain.doctor_titles import title_of
from bot.i18n import tr, trn

MAX_REPORTED = 15


def render_report(findings: Sequence[Finding], *, changed: bool = False) -> discord.Embed:
    """One embed listing findings with their fixes (or an all-clear)."""
    if not findings:
        return discord.Embed(
            title=tr("Steward doctor: all clear"),
            description=tr("Everything Steward needs is in place.")
            + (tr(" The problems reported earlier are fixed.") if changed else ""),
            colour=discord.Colour.green(),
        )
    problems = sum(1 for f in findings if f.severity is Severity.PROBLEM)
    warnings = len(findings) - problems
    title = tr("Steward doctor: {problems}, {warnings}",
               problems=trn("{count} problem", "{count} problems", problems, count=problems),
               warnings=trn("{count} warning", "{count} warnings", warnings, count=warnings))
    embed = discord.Embed(
        title=title,
        colour=discord.Colour.red() if problems else discord.Colour.gold(),
        description=tr("Each item says what is wrong and exactly how to fix it. "
        "Run `/steward doctor` again after fixing."),
    )
    for finding in findings[:MAX_REPORTED]:
        icon = "❌" if finding.severity is Severity.PROBLEM else "⚠️"
        embed.add_field(name=f"{icon} {title_of(finding)}",
                        value=finding.message + "\n" + tr("**Fix:** {fix}", fix=finding.fix),
                        inline=False)
    if len(findings) > MAX_REPORTED:
        embed.set_footer(text=tr("and {value} more: run /steward doctor",
                                 value=len(findings) - MAX_REPORTED))
    return embed
