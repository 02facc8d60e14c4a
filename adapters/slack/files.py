"""Files both ways. Slack commands cannot carry a file and ephemeral messages cannot hold one,
so a command that takes a file reads the member's latest file shared in the channel, and a
private reply's files go to the member's direct messages with studybot."""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence

import aiohttp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.chat import Attachment, Member

log = logging.getLogger(__name__)

RECENT = 15 * 60  # a file shared longer ago than this is not "the file for this command"
MAX_BYTES = 5_000_000


async def shared_files(
    client: AsyncWebClient, *, channel: str, user: Member
) -> tuple[Attachment, ...]:
    """The member's latest file shared in the channel, if recent and not huge; else none
    (and the core asks for it)."""
    try:
        listed = await client.files_list(
            channel=channel, user=user.ref.user_id, ts_from=str(int(time.time()) - RECENT), count=1
        )
        found = [f for f in listed.get("files") or () if f.get("size", 0) <= MAX_BYTES]
        if not found:
            return ()
        headers = {"Authorization": f"Bearer {client.token}"}
        async with (
            aiohttp.ClientSession() as session,
            session.get(found[0]["url_private_download"], headers=headers) as response,
        ):
            response.raise_for_status()
            return (Attachment(found[0]["name"], await response.read()),)
    except (SlackApiError, aiohttp.ClientError, TimeoutError) as exc:
        log.warning("could not fetch the file %s shared: %s", user.ref.user_id, exc)
        return ()


async def send_files(
    client: AsyncWebClient, files: Sequence[Attachment], *, channel: str, thread: str | None
) -> None:
    uploads = [{"content": f.content, "filename": f.name, "title": f.name} for f in files]
    await client.files_upload_v2(channel=channel, thread_ts=thread, file_uploads=uploads)
