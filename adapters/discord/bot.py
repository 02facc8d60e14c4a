"""Discord events in, the core's replies out: interactions, raw reactions, joining a server."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable
from contextlib import asynccontextmanager
from typing import Any, cast

import discord

from adapters.discord import commands, render
from adapters.discord.platform import PLATFORM, platform_errors, writable_channel
from adapters.settings import DiscordSettings
from bot import commands as table
from bot.app import App
from bot.chat import (
    Action,
    Attachment,
    BotAdded,
    Command,
    Event,
    FormSubmit,
    Member,
    MemberRef,
    Place,
    Reaction,
    Reply,
)
from bot.handlers import Kind

log = logging.getLogger(__name__)

# Discord drops an interaction not acknowledged within 3 s of sending it, and network time
# both ways comes out of that: a reply not ready within DEFER_AFTER seconds is deferred.
DEFER_AFTER = 1.2
# Commands that call Discord themselves before answering (posting a drop or a reveal, opening
# mock groups) are deferred at once, as is any command that takes a file (it is downloaded).
DEFER_AT_ONCE = frozenset({"drop now", "reveal", "mock round"})
OUTSIDE_A_SERVER = "studybot works inside a server: use it there."
FORM_TOO_LATE = "That took a moment too long to open the form. Press the button again."


def is_admin(member: discord.Member, permissions: discord.Permissions, admin_role: str) -> bool:
    """Manage Server (or Administrator), or the configured role given by name or id."""
    if permissions.administrator or permissions.manage_guild:
        return True
    return bool(admin_role) and any(admin_role in (r.name, str(r.id)) for r in member.roles)


def slow(interaction: discord.Interaction) -> bool:
    """Whether the interaction runs a command known to take longer than Discord allows for
    an answer: one in DEFER_AT_ONCE, or one with a file option."""
    if interaction.type is not discord.InteractionType.application_command:
        return False
    name, _, _ = commands.invocation(cast(commands.CommandData, interaction.data or {}))
    spec = table.find(name)
    takes_file = spec is not None and any(o.kind is Kind.FILE for o in spec.options)
    return name in DEFER_AT_ONCE or takes_file


class DiscordBot:
    """Translates events for the core and renders its replies; holds no business rule."""

    def __init__(
        self,
        *,
        client: discord.Client,
        app: App,
        settings: DiscordSettings,
        defer_after: float = DEFER_AFTER,
    ) -> None:
        self.client = client
        self.app = app
        self.settings = settings
        self.defer_after = defer_after
        self._running: set[asyncio.Task[Any]] = set()
        self._started = False
        for handler in (
            self.on_ready,
            self.on_interaction,
            self.on_raw_reaction_add,
            self.on_raw_reaction_remove,
            self.on_guild_join,
        ):
            client.event(handler)

    # ---- lifecycle ----------------------------------------------------------------------

    async def start(self, token: str) -> None:
        """Log in, register the commands, and stay connected until closed."""
        await self.client.login(token)
        await self.sync_commands()
        await self.client.connect()

    async def on_ready(self) -> None:
        """Start the core's timed work once connected, so catch-up posts find the servers
        cached (fires again on reconnects: started once)."""
        if self._started:
            return
        self._started = True
        async with self._busy():
            await self.app.start()

    async def sync_commands(self) -> None:
        """Overwrite the application commands: per server when DISCORD_GUILD_IDS is set
        (instant, for testing), else globally."""
        payload = commands.payloads(table.commands())
        app_id = self.client.application_id
        assert app_id is not None, "log in before syncing commands"
        with platform_errors("command sync"):
            if self.settings.guild_ids:
                for guild_id in self.settings.guild_ids:
                    await self.client.http.bulk_upsert_guild_commands(app_id, guild_id, payload)
            else:
                await self.client.http.bulk_upsert_global_commands(app_id, payload)

    async def drain(self) -> None:
        """Wait for the events being handled (before shutting down, and in tests)."""
        while pending := self._running - {asyncio.current_task()}:
            await asyncio.wait(pending)

    async def close(self) -> None:
        await self.drain()
        await self.client.close()

    @asynccontextmanager
    async def _busy(self) -> AsyncIterator[None]:
        task = asyncio.current_task()
        assert task is not None
        self._running.add(task)
        try:
            yield
        finally:
            self._running.discard(task)

    # ---- translating in -----------------------------------------------------------------

    def _place(self, guild_id: int, channel_id: int, channel: object = None) -> Place:
        """A thread is the place (its parent channel, itself); the channel object, when the
        event carries none, comes from the cache (threads are cached as they are created)."""
        channel = channel or self.client.get_channel(channel_id)
        if isinstance(channel, discord.Thread):
            return Place(PLATFORM, str(guild_id), str(channel.parent_id), str(channel.id))
        return Place(PLATFORM, str(guild_id), str(channel_id))

    def _member(self, user: discord.Member, *, admin: bool = False) -> Member:
        ref = MemberRef(PLATFORM, str(user.guild.id), str(user.id))
        return Member(ref, user.display_name, is_admin=admin)

    async def _event(
        self, interaction: discord.Interaction, member: Member, place: Place
    ) -> Event | None:
        data = cast(dict[str, Any], interaction.data or {})
        match interaction.type:
            case discord.InteractionType.application_command:
                command = cast(commands.CommandData, data)
                name, values, _ = commands.invocation(command)
                files = [await self._download(a) for a in commands.attachments(command, values)]
                return Command(member, place, name=name, options=values, files=tuple(files))
            case discord.InteractionType.component:
                message_id = str(interaction.message.id) if interaction.message else ""
                _, action_id = render.split_server(str(data["custom_id"]))
                return Action(member, place, action_id, message_id)
            case discord.InteractionType.modal_submit:
                fields = render.form_values(data.get("components", []))
                _, form_id = render.split_server(str(data["custom_id"]))
                return FormSubmit(member, place, form_id, fields)
        return None

    async def _download(self, attachment: commands.AttachmentData) -> Attachment:
        content = await self.client.http.get_from_cdn(attachment["url"])
        return Attachment(attachment["filename"], content)

    async def _handle(
        self, interaction: discord.Interaction, member: Member, place: Place
    ) -> Reply | None:
        try:
            event = await self._event(interaction, member, place)
        except discord.HTTPException as exc:  # an attachment that could not be fetched
            return Reply.error(f"Could not read the attached file ({exc.status}). Try again.")
        return None if event is None else await self.app.handle(event)

    async def on_interaction(self, interaction: discord.Interaction) -> None:
        async with self._busy():
            user, kind = interaction.user, interaction.type
            if interaction.guild_id is None or not isinstance(user, discord.Member):
                await self._in_dm(interaction)
                return
            if kind is discord.InteractionType.autocomplete:
                await self._autocomplete(interaction)
                return
            admin = is_admin(user, interaction.permissions, self.settings.admin_role)
            member = self._member(user, admin=admin)
            place = self._place(
                interaction.guild_id, interaction.channel_id or 0, interaction.channel
            )
            reply = await self._in_time(interaction, self._handle(interaction, member, place))
            await self._respond(interaction, reply)
            await self._notes(interaction, reply)

    async def _in_dm(self, interaction: discord.Interaction) -> None:
        """A press or form in a DM: the server it belongs to rides in its custom_id (the bot's
        DMs mark it); anything else outside a server is explained."""
        data = cast(dict[str, Any], interaction.data or {})
        server, _ = render.split_server(str(data.get("custom_id", "")))
        if server is None:
            if interaction.type is not discord.InteractionType.autocomplete:
                await interaction.response.send_message(OUTSIDE_A_SERVER, ephemeral=True)
            return
        user = interaction.user
        member = Member(MemberRef(PLATFORM, server, str(user.id)), user.display_name)
        place = Place(PLATFORM, server, str(interaction.channel_id or 0))
        reply = await self._in_time(interaction, self._handle(interaction, member, place))
        await self._respond(interaction, reply, server=server)
        await self._notes(interaction, reply)

    async def _autocomplete(self, interaction: discord.Interaction) -> None:
        data = cast(commands.CommandData, interaction.data)
        name, values, focused = commands.invocation(data)
        spec = table.find(name)
        option = next((o for o in spec.options if o.name == focused), None) if spec else None
        typed = str(values.get(focused or "", ""))
        choices: list[discord.app_commands.Choice[str]] = []
        if spec and option and option.suggest and isinstance(interaction.user, discord.Member):
            member = self._member(interaction.user)
            found = await self.app.suggest(member, command=name, option=option.name, typed=typed)
            choices = [discord.app_commands.Choice(name=label, value=v) for label, v in found]
        elif spec and focused:
            choices = [
                discord.app_commands.Choice(name=c, value=c)
                for c in commands.suggestions(spec, focused, typed)
            ]
        await interaction.response.autocomplete(choices)

    async def on_raw_reaction_add(self, payload: discord.RawReactionActionEvent) -> None:
        await self._reaction(payload, added=True)

    async def on_raw_reaction_remove(self, payload: discord.RawReactionActionEvent) -> None:
        await self._reaction(payload, added=False)

    async def _reaction(self, payload: discord.RawReactionActionEvent, *, added: bool) -> None:
        """Raw events, so reactions on messages sent before a restart count too."""
        me = self.client.user
        if payload.guild_id is None or me is None or payload.user_id == me.id:
            return  # the bot's own 👍 on each answer is not a vote
        async with self._busy():
            user = payload.member or await self._member_of(payload.guild_id, payload.user_id)
            if user is None:
                return
            place = self._place(payload.guild_id, payload.channel_id)
            reaction = Reaction(
                self._member(user), place, str(payload.message_id), str(payload.emoji), added
            )
            await self.app.handle(reaction)

    async def _member_of(self, guild_id: int, user_id: int) -> discord.Member | None:
        """Removal events carry no member, and the core wants a display name."""
        guild = self.client.get_guild(guild_id)
        if guild is None:
            return None
        try:
            return guild.get_member(user_id) or await guild.fetch_member(user_id)
        except discord.HTTPException as exc:
            log.warning("reaction by %s in %s ignored: %s", user_id, guild_id, exc)
            return None

    async def on_guild_join(self, guild: discord.Guild) -> None:
        """Tell whoever added the bot how to start (the system channel, usually staff-read)."""
        channel = writable_channel(guild)
        if channel is None:
            log.warning("joined %s but can post in no channel", guild.id)
            return
        async with self._busy():
            reply = await self.app.handle(BotAdded(self._place(guild.id, channel.id)))
            if reply is None or reply.card is None:
                return
            try:
                await channel.send(**render.message(reply.card))
            except discord.HTTPException as exc:
                log.warning("could not post the setup note in %s: %s", guild.id, exc)

    # ---- rendering out ------------------------------------------------------------------

    async def _in_time(
        self, interaction: discord.Interaction, handling: Awaitable[Reply | None]
    ) -> Reply | None:
        """The core's reply; acknowledged first if it takes longer than ``defer_after``, or
        at once for a command known to be slow."""
        task = asyncio.ensure_future(handling)
        if not slow(interaction):
            await asyncio.wait({task}, timeout=self.defer_after)
        if not task.done():
            if interaction.type is discord.InteractionType.application_command:
                await interaction.response.defer(ephemeral=True, thinking=True)
            else:  # a press or a form: acknowledged without changing the message
                await interaction.response.defer()
        return await task

    async def _respond(
        self, interaction: discord.Interaction, reply: Reply | None, *, server: str | None = None
    ) -> None:
        response = interaction.response
        if reply is None:
            if not response.is_done():
                await response.defer()
            return
        if reply.form is not None:
            if not response.is_done():  # a modal can only be the first response
                await response.send_modal(render.modal(reply.form, server=server))
                return
            reply = Reply.text(FORM_TOO_LATE)
        if reply.card is None:
            return
        kwargs = render.message(reply.card, files=reply.files, server=server)
        if not response.is_done():
            await response.send_message(**kwargs, ephemeral=reply.private)
        elif interaction.type is not discord.InteractionType.application_command:
            await interaction.followup.send(**kwargs, ephemeral=reply.private)
        elif reply.private:  # a command deferred as private "thinking"
            edit = render.message(reply.card, clear=True, files=reply.files)
            edit["attachments"] = edit.pop("files", [])
            await interaction.edit_original_response(**edit)
        else:  # a private "thinking" cannot become public: post the card in the channel
            await interaction.delete_original_response()
            channel = interaction.channel
            if isinstance(channel, discord.abc.Messageable):
                await channel.send(**kwargs)

    async def _notes(self, interaction: discord.Interaction, reply: Reply | None) -> None:
        """Further private cards the core added (its one first-contact welcome)."""
        for card in reply.notes if reply is not None else ():
            await interaction.followup.send(**render.message(card), ephemeral=True)
