"""Welcome presentation: the persistent "Find your support group" button, the ephemeral
group picker (paged selects), and the texts they and `/welcome` show."""

from __future__ import annotations

import re
from typing import Any

import discord

from bot.adapters.welcome import member_facts
from bot.domain import welcome as rules
from bot.domain.welcome_facts import MemberFacts
from bot.errors import NotFound
from bot.i18n import N_, custom_or_default, on_off, tr
from bot.interactions import StewardView, guarded
from bot.services.welcome import WelcomeService
from bot.services.welcome_groups import PickerState, PickResult
from bot.ui.language import hear
from config.guild import GuildConfig

PICKER_LABEL = N_("Find your support group")
PICKER_TIMEOUT = 14 * 60.0  # an ephemeral message's token lasts 15 minutes


def _service(interaction: discord.Interaction) -> WelcomeService:
    return interaction.client.services.welcome  # type: ignore[attr-defined, no-any-return]


def facts_of(interaction: discord.Interaction, member: discord.Member) -> MemberFacts:
    """The member's facts (with the guild's moderator settings)."""
    settings = interaction.client.guild_settings  # type: ignore[attr-defined]
    return member_facts(member, settings.get(member.guild.id).core)


class PickerButton(discord.ui.DynamicItem[discord.ui.Button[Any]],
                   template=r"steward:welcome:pick:(?P<guild_id>\d+)"):
    """The button on every welcome; works for whoever clicks it, also after restarts."""

    def __init__(self, guild_id: int) -> None:
        super().__init__(discord.ui.Button(
            label=tr(PICKER_LABEL), style=discord.ButtonStyle.primary,
            custom_id=f"steward:welcome:pick:{guild_id}"))
        self.guild_id = guild_id

    @classmethod
    async def from_custom_id(  # type: ignore[override]
        cls, interaction: discord.Interaction, item: discord.ui.Button[Any],
        match: re.Match[str], /,
    ) -> PickerButton:
        """Rebuild the button from its custom_id (the guild id is the only key)."""
        return cls(int(match["guild_id"]))

    @guarded
    async def callback(self, interaction: discord.Interaction) -> None:  # type: ignore[override]
        """Open the picker for the person who clicked."""
        member = picker_member(interaction, self.guild_id)
        await open_picker(interaction, _service(interaction), member)


def welcome_view(guild_id: int) -> discord.ui.View:
    """The one-button view sent with welcomes."""
    view = discord.ui.View(timeout=None)
    view.add_item(PickerButton(guild_id))
    return view


def picker_member(interaction: discord.Interaction, guild_id: int) -> discord.Member:
    """The clicking member (clicks in a welcome DM are looked up in the guild)."""
    if isinstance(interaction.user, discord.Member) and interaction.user.guild.id == guild_id:
        return interaction.user
    guild = interaction.client.get_guild(guild_id)
    member = guild.get_member(interaction.user.id) if guild else None
    if member is None:
        raise NotFound(tr("You're not a member of that server any more, so I can't show its "
                       "groups."))
    return member


def picker_text(state: PickerState, page: rules.PickerPage) -> str:
    """The picker's message: what it is for, their current groups, and the page."""
    if not state.groups:
        return (tr("This server hasn't listed any support groups yet. The moderators can add "
                "them; feel free to ask them where to start."))
    lines = [tr("Choose the groups you'd like to follow, then press **Save**. "
             "You can change this any time with `/groups`.")]
    lines += rules.interest_lines(state.interests)
    if page.count > 1:
        lines.append(tr("Page {value} of {count}.", value=page.index + 1, count=page.count))
    return "\n".join(lines)


async def open_picker(interaction: discord.Interaction, service: WelcomeService,
                      member: discord.Member) -> None:
    """Answer with the ephemeral picker (only cached state and one DB read: fast)."""
    state = await service.directory.picker_state(facts_of(interaction, member))
    view = PickerView(service, member, state)
    await interaction.response.send_message(
        view.text(), view=view if state.groups else discord.utils.MISSING, ephemeral=True,
        allowed_mentions=discord.AllowedMentions.none())


class GroupSelect(discord.ui.Select["PickerView"]):
    """One select menu of up to 25 groups."""

    def __init__(self, groups: tuple[rules.GroupFacts, ...], chosen: set[int], index: int,
                 first: int) -> None:
        options = [
            discord.SelectOption(label=g.name[:100], value=str(g.id),
                                 description=g.description[:100] or None,
                                 default=g.id in chosen)
            for g in groups
        ]
        last = first + len(groups) - 1
        super().__init__(
            custom_id=f"steward:welcome:picker:menu:{index}",
            placeholder=tr("Groups {value}-{value2}",
                           value=first + 1, value2=last + 1) if first or last >= 24
            else tr("Choose your groups"),
            min_values=0, max_values=len(options), options=options)
        self.group_ids = {g.id for g in groups}

    async def callback(self, interaction: discord.Interaction) -> None:
        """Remember this menu's choice until Save."""
        assert self.view is not None
        self.view.chosen -= self.group_ids
        self.view.chosen |= {int(v) for v in self.values}
        await interaction.response.defer()


class PickerView(StewardView):
    """Ephemeral picker: select menus (paged past 25 groups), page buttons and Save."""

    def __init__(self, service: WelcomeService, member: discord.Member,
                 state: PickerState) -> None:
        super().__init__(timeout=PICKER_TIMEOUT)
        self.service = service
        self.member_id = member.id
        self.guild_id = member.guild.id
        self.state = state
        self.chosen: set[int] = set(state.chosen)
        self.page = rules.picker_page(state.groups, 0)
        self._build()

    def text(self) -> str:
        """The message text for the current page."""
        return picker_text(self.state, self.page)

    def _build(self) -> None:
        self.clear_items()
        first = self.page.index * rules.SELECT_OPTIONS * rules.SELECTS_PER_PAGE
        for index, groups in enumerate(self.page.menus):
            self.add_item(GroupSelect(groups, self.chosen, index,
                                      first + index * rules.SELECT_OPTIONS))
        if self.page.count > 1:
            back = discord.ui.Button[PickerView](
                label=tr("Previous"), custom_id="steward:welcome:picker:prev", row=4,
                disabled=self.page.index == 0)
            back.callback = self._previous  # type: ignore[method-assign]
            forward = discord.ui.Button[PickerView](
                label=tr("Next"), custom_id="steward:welcome:picker:next", row=4,
                disabled=self.page.index + 1 >= self.page.count)
            forward.callback = self._next  # type: ignore[method-assign]
            self.add_item(back)
            self.add_item(forward)
        save = discord.ui.Button[PickerView](
            label=tr("Save"), style=discord.ButtonStyle.success,
            custom_id="steward:welcome:picker:save", row=4)
        save.callback = self._save  # type: ignore[method-assign]
        self.add_item(save)

    async def interaction_check(self, interaction: discord.Interaction) -> bool:
        """Only the member the picker was opened for may use it."""
        hear(interaction)
        return interaction.user.id == self.member_id

    async def _turn(self, interaction: discord.Interaction, step: int) -> None:
        self.page = rules.picker_page(self.state.groups, self.page.index + step)
        self._build()
        await interaction.response.edit_message(content=self.text(), view=self)

    async def _previous(self, interaction: discord.Interaction) -> None:
        await self._turn(interaction, -1)

    async def _next(self, interaction: discord.Interaction) -> None:
        await self._turn(interaction, 1)

    async def _save(self, interaction: discord.Interaction) -> None:
        await interaction.response.defer()
        member = picker_member(interaction, self.guild_id)
        result = await self.service.directory.apply_choice(
            facts_of(interaction, member), set(self.chosen), {g.id for g in self.state.groups})
        self.stop()
        names = {r.id: r.name for r in member.guild.roles}
        await interaction.edit_original_response(
            content=result_text(result, names), view=None,
            allowed_mentions=discord.AllowedMentions.none())


def result_text(result: PickResult, role_names: dict[int, str] | None = None) -> str:
    """What the member sees after saving: their groups, where they meet, and role changes."""
    if not result.chosen:
        lines = [tr("No groups picked. That's fine; you can come back any time with `/groups`.")]
    else:
        lines = [tr("Here are your groups:")]
        for group in result.chosen:
            about = f": {group.description}" if group.description else ""
            lines.append(tr("• **{name}** meets in <#{channel_id}>{about}",
                            name=group.name, channel_id=group.channel_id, about=about))
    names = role_names or {}

    def roles(ids: list[int]) -> str:
        return ", ".join(f"**{names[r]}**" if r in names else f"<@&{r}>" for r in ids)

    if result.added:
        lines.append(tr("I gave you the {roles} role, so you can follow along.",
                        roles=roles(result.added)))
    if result.removed:
        lines.append(tr("I took away the {roles} role.", roles=roles(result.removed)))
    if result.skipped_unsafe:
        lines.append(tr("Some group roles couldn't be given right now; the moderators have "
                     "been told."))
    return "\n".join(lines)


def describe_settings(config: GuildConfig) -> str:
    """The welcome settings in a few lines."""
    w = config.welcome
    channel = f"<#{w.channel}>" if w.channel else tr("not set (the server's system channel)")
    return "\n".join([
        tr("**Welcomes:** {state}", state=on_off(w.enabled)),
        tr("**Channel:** {channel}", channel=channel),
        tr("**DM:** {state}", state=on_off(w.dm)),
        tr("**Suggestions:** {state} (for members who joined in the last {days} days)",
           state=on_off(w.suggestions), days=w.suggest_days),
        tr("**Burst:** more than {threshold} joins per {seconds} s are greeted together",
           threshold=w.burst_threshold, seconds=w.burst_window_seconds),
        tr("**Screening fallback:** {minutes} min", minutes=w.screening_timeout_minutes),
        tr("**Template:** {template}; **burst template:** {burst}",
           template=custom_or_default(w.template), burst=custom_or_default(w.burst_template)),
        *([tr("**Own welcome in:** {languages}", languages=", ".join(
            f"`{code}`" for code in sorted({*w.language_templates,
                                            *w.language_burst_templates})))]
          if w.language_templates or w.language_burst_templates else []),
    ])


def keywords_note(keywords: tuple[str, ...]) -> str:
    """What a group's keywords do, after adding or editing it."""
    if not keywords:
        return tr(" No keywords, so I won't point posts to it.")
    return tr(" Keywords: {keywords}.", keywords=", ".join(keywords))
