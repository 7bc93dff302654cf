"""What each doctor finding is called, in words: the title a person reads above its message.

A finding's code (`channel.permission`) identifies it (the report-once fingerprint, the
command line's `steward doctor`); people read a title from the catalog instead ("Permissions
missing in the queue channel").
"""

from __future__ import annotations

from bot.domain.doctor import CHANNEL_NEEDS, MODERATORS_CANT_SEE, Finding
from bot.i18n import N_, tr

# Finding code -> the title a person reads (the code itself stays an identifier).
_TITLES: dict[str, str] = {
    "automod.limits": N_("AutoMod rule near Discord's limits"),
    "automod.refused": N_("Discord refused the AutoMod rule"),
    "channel.deleted": N_("A channel Steward uses is gone"),
    "channel.kind": N_("A channel of the wrong kind"),
    "channel.permission": N_("Permissions missing in a channel"),
    "followups.failed": N_("Reminders could not be delivered"),
    "followups.overdue": N_("Reminders are overdue"),
    "followups.scheduler_stopped": N_("The reminder scheduler has stopped"),
    "gateway.message_content": N_("Steward can't read messages"),
    "linkhold.approval_stuck": N_("Approvals stuck part-way"),
    "linkhold.not_removed": N_("Held posts still visible"),
    "linkhold.unfinished": N_("Holds stuck part-way"),
    "linkhold.waiting": N_("Held posts waiting for a moderator"),
    "member_channels.permission": N_("Permissions missing where members post"),
    MODERATORS_CANT_SEE: N_("Moderators can't see Steward's channels"),
    "probe.failed": N_("A check could not run"),
    "role.deleted": N_("A role Steward uses is gone"),
    "role.hierarchy": N_("A role is above Steward's highest role"),
    "role.managed": N_("A role belongs to an integration"),
    "role.unusable_power": N_("A role that grants Steward powers can't be used"),
    "server.permission": N_("Server permission missing"),
    "setting.missing": N_("A setting is missing"),
    "trusted_role.hierarchy": N_("The trusted role is above Steward's highest role"),
    "trusted_role.managed": N_("The trusted role belongs to an integration"),
}
# A channel finding about a known setting names the channel: "Permissions missing in the
# queue channel".
_CHANNEL_TITLES: dict[str, str] = {
    "channel.deleted": N_("The {channel} is gone"),
    "channel.kind": N_("The {channel} is the wrong kind of channel"),
    "channel.permission": N_("Permissions missing in the {channel}"),
}
_SETTING_TITLES: dict[str, str] = {
    "core.mod_log_channel": N_("No mod-log channel"),
    "linkhold.queue_channel": N_("No queue channel"),
    "linkhold.trusted_role": N_("No trusted role"),
}


def title_of(finding: Finding) -> str:
    """What a finding is about, in words, in the language being spoken."""
    setting = finding.subject.partition(":")[0]
    if finding.code in _CHANNEL_TITLES and setting in CHANNEL_NEEDS:
        return tr(_CHANNEL_TITLES[finding.code], channel=tr(CHANNEL_NEEDS[setting].label))
    if finding.code == "setting.missing" and finding.subject in _SETTING_TITLES:
        return tr(_SETTING_TITLES[finding.subject])
    return tr(_TITLES.get(finding.code, N_("Something needs attention")))


def code_of_title(title: str) -> str | None:
    """The finding code a title (in the language being spoken) stands for (tools and tests)."""
    titles = {tr(text): code for code, text in _TITLES.items()}
    titles.update({tr(text, channel=tr(need.label)): code
                   for code, text in _CHANNEL_TITLES.items() for need in CHANNEL_NEEDS.values()})
    titles.update({tr(text): "setting.missing" for text in _SETTING_TITLES.values()})
    return titles.get(title)
