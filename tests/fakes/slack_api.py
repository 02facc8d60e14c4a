"""A fake Slack on 127.0.0.1: the Web API methods studybot calls, response_urls, and a
Socket Mode websocket. It records every call and answers the way Slack does."""

from __future__ import annotations

import asyncio
import itertools
import json
import uuid
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import Any

from aiohttp import WSMsgType, web

TEAM = "T1"
BOT_USER = "UBOT"
BOT_TOKEN = "xoxb-test"
APP_TOKEN = "xapp-test"


@dataclass
class Call:
    """One request Slack received: the Web API method (or "respond"), its arguments, and
    what the fake answered."""

    method: str
    args: dict[str, Any]
    result: dict[str, Any] = field(default_factory=dict)

    @property
    def blocks(self) -> list[dict[str, Any]]:
        raw = self.args.get("blocks") or self.args.get("view", {}).get("blocks") or []
        return json.loads(raw) if isinstance(raw, str) else list(raw)

    @property
    def text(self) -> str:
        """Every piece of text in the blocks, one per line (what a member reads)."""
        out: list[str] = []
        for block in self.blocks:
            if "text" in block:
                out.append(block["text"]["text"])
            out.extend(f["text"] for f in block.get("fields", ()))
            out.extend(e["text"] for e in block.get("elements", ()) if e["type"] == "mrkdwn")
        return "\n".join(out)

    @property
    def buttons(self) -> list[dict[str, Any]]:
        return [e for b in self.blocks if b["type"] == "actions" for e in b["elements"]]


def channel(channel_id: str, *, member: bool = True) -> dict[str, Any]:
    """A conversations.info `channel` object."""
    return {"id": channel_id, "is_channel": True, "is_member": member, "is_archived": False}


def user(user_id: str, name: str, *, admin: bool = False, owner: bool = False) -> dict[str, Any]:
    """A users.info `user` object."""
    return {
        "id": user_id,
        "team_id": TEAM,
        "name": name,
        "is_admin": admin,
        "is_owner": owner,
        "profile": {"display_name": name, "real_name": name.title()},
    }


class FakeSlack:
    def __init__(self) -> None:
        self.calls: list[Call] = []
        self.users: dict[str, dict[str, Any]] = {}
        self.channels: dict[str, dict[str, Any]] = {}  # conversations.info by channel id
        self.shared: list[tuple[dict[str, Any], bytes]] = []  # files members shared: files.list
        self.uploads: dict[str, bytes] = {}  # what studybot uploaded, by file id
        self.failures: dict[str, list[tuple[int, dict[str, str], dict[str, Any]]]] = defaultdict(
            list
        )
        self.delays: dict[str, float] = {}
        self.after_failures: dict[str, list[int]] = defaultdict(list)
        # What was posted, newest first, per (channel, thread ts): read by conversations.*
        self.history: dict[tuple[str, str | None], list[dict[str, Any]]] = {}
        self.port = 0
        self.socket: web.WebSocketResponse | None = None
        self.connected = asyncio.Event()
        self._acks: dict[str, asyncio.Future[dict[str, Any]]] = {}
        self._read: Counter[str] = Counter()
        self._changed = asyncio.Condition()
        self._ts = itertools.count(1)
        self._runner: web.AppRunner | None = None

    # ---- lifecycle -------------------------------------------------------------------

    async def start(self) -> None:
        app = web.Application()
        app.router.add_route("*", "/api/{method}", self._api)
        app.router.add_post("/respond/{name}", self._respond)
        app.router.add_get("/link", self._websocket)
        app.router.add_get("/download/{id}", self._download)
        app.router.add_post("/upload/{id}", self._upload)
        self._runner = web.AppRunner(app, shutdown_timeout=1.0)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = int(self._runner.addresses[0][1])

    async def close(self) -> None:
        if self.socket is not None:
            await self.socket.close()
        if self._runner is not None:
            await self._runner.cleanup()

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/api/"

    def response_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/respond/{uuid.uuid4().hex[:8]}"

    # ---- what tests read -------------------------------------------------------------

    def of(self, method: str) -> list[Call]:
        return [c for c in self.calls if c.method == method]

    async def next_call(self, method: str, *, wait: float = 5.0) -> Call:
        """The next call of ``method`` this test has not read yet, waiting for it (5 s)."""
        async with asyncio.timeout(wait), self._changed:
            await self._changed.wait_for(lambda: len(self.of(method)) > self._read[method])
        call = self.of(method)[self._read[method]]
        self._read[method] += 1
        return call

    async def next_of(self, *methods: str) -> Call:
        """The next unread call of any of ``methods`` (the one that came first), waiting 5 s."""

        def ready() -> bool:
            return any(len(self.of(m)) > self._read[m] for m in methods)

        async with asyncio.timeout(5.0), self._changed:
            await self._changed.wait_for(ready)
        calls = [self.of(m)[self._read[m]] for m in methods if len(self.of(m)) > self._read[m]]
        call = min(calls, key=self.calls.index)
        self._read[call.method] += 1
        return call

    def unread(self, method: str) -> list[Call]:
        return self.of(method)[self._read[method] :]

    def fail_after(self, method: str, status: int) -> None:
        """Carry out the next call of ``method``, then answer it with an HTTP error anyway (a
        response lost after the message was posted)."""
        self.after_failures[method].append(status)

    def fail(self, method: str, status: int, error: str, **headers: str) -> None:
        """Answer the next call of ``method`` with an error (e.g. 429 + Retry-After)."""
        self.failures[method].append((status, headers, {"ok": False, "error": error}))

    # ---- the Web API -----------------------------------------------------------------

    async def _record(self, call: Call) -> None:
        async with self._changed:
            self.calls.append(call)
            self._changed.notify_all()

    async def _api(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        args: dict[str, Any] = dict(request.query)
        if request.content_type == "application/json":
            args.update(await request.json())
        else:
            args.update(await request.post())
        if method in self.delays:
            await asyncio.sleep(self.delays[method])
        if self.failures[method]:
            status, headers, body = self.failures[method].pop(0)
            await self._record(Call(method, args, body))
            return web.json_response(body, status=status, headers=headers)
        token = request.headers.get("Authorization", "").removeprefix("Bearer ")
        wanted = APP_TOKEN if method == "apps.connections.open" else BOT_TOKEN
        result = self._answer(method, args) if token == wanted else _error("invalid_auth")
        await self._record(Call(method, args, result))
        if self.after_failures[method]:
            return web.Response(status=self.after_failures[method].pop(0), text="upstream error")
        return web.json_response(result)

    def _answer(self, method: str, args: dict[str, Any]) -> dict[str, Any]:
        if method == "auth.test":
            return {
                "ok": True,
                "url": "https://study.slack.com/",
                "team": "Study group",
                "user": "studybot",
                "team_id": TEAM,
                "user_id": BOT_USER,
                "bot_id": "B1",
            }
        if method == "chat.postMessage":
            ts = self.next_ts()
            message = {"ts": ts, "text": args.get("text", "")}
            if args.get("metadata"):
                message["metadata"] = args["metadata"]
            where = (args["channel"], args.get("thread_ts"))
            self.history.setdefault(where, []).insert(0, message)  # newest first, as Slack
            return {"ok": True, "channel": args["channel"], "ts": ts, "message": message}
        if method == "conversations.history":
            found = self.history.get((args["channel"], None), [])
            return {"ok": True, "messages": _with_metadata(found, args)}
        if method == "conversations.replies":
            found = self.history.get((args["channel"], args["ts"]), [])
            return {"ok": True, "messages": _with_metadata(found, args)}
        if method == "chat.postEphemeral":
            return {"ok": True, "message_ts": self.next_ts()}
        if method == "chat.update":
            return {"ok": True, "channel": args["channel"], "ts": args["ts"]}
        if method in ("views.open", "views.publish"):
            return {"ok": True, "view": {"id": "V1", **args["view"]}}
        if method == "reactions.add":
            return {"ok": True}
        if method == "users.info":
            found = self.users.get(args["user"])
            return {"ok": True, "user": found} if found else _error("user_not_found")
        if method == "conversations.open":
            users = str(args["users"]).split(",")
            prefix = "D" if len(users) == 1 else "G"
            return {"ok": True, "channel": {"id": prefix + "-".join(users)}}
        if method == "conversations.info":
            found = self.channels.get(args["channel"])
            return {"ok": True, "channel": found} if found else _error("channel_not_found")
        if method == "files.list":
            return {"ok": True, "files": [info for info, _ in self.shared if _matches(info, args)]}
        if method == "files.getUploadURLExternal":
            file_id = f"F{len(self.uploads) + 1}"
            self.uploads[file_id] = b""
            upload_url = f"http://127.0.0.1:{self.port}/upload/{file_id}"
            return {"ok": True, "file_id": file_id, "upload_url": upload_url}
        if method == "files.completeUploadExternal":
            return {"ok": True, "files": json.loads(args["files"])}
        if method == "apps.connections.open":
            return {"ok": True, "url": f"ws://127.0.0.1:{self.port}/link"}
        return _error("unknown_method")

    def share(self, name: str, content: bytes, *, user: str, channel: str) -> None:
        """A member shares a file in a channel (studybot sees it in files.list)."""
        file_id = f"FS{len(self.shared) + 1}"
        info = {
            "id": file_id,
            "name": name,
            "user": user,
            "channels": [channel],
            "size": len(content),
            "url_private_download": f"http://127.0.0.1:{self.port}/download/{file_id}",
        }
        self.shared.append((info, content))

    async def _download(self, request: web.Request) -> web.Response:
        if request.headers.get("Authorization") != f"Bearer {BOT_TOKEN}":
            return web.Response(status=403)
        wanted = request.match_info["id"]
        return web.Response(body=next(c for i, c in self.shared if i["id"] == wanted))

    async def _upload(self, request: web.Request) -> web.Response:
        self.uploads[request.match_info["id"]] = await request.read()
        return web.Response(text="OK")

    def next_ts(self) -> str:
        return f"1767600000.{next(self._ts):06d}"

    async def _respond(self, request: web.Request) -> web.Response:
        await self._record(Call("respond", await request.json()))
        return web.Response(text="ok")

    # ---- Socket Mode -----------------------------------------------------------------

    async def _websocket(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        self.socket = ws
        await ws.send_json({"type": "hello", "num_connections": 1})
        self.connected.set()
        async for message in ws:
            if message.type == WSMsgType.TEXT:
                data = json.loads(message.data)
                future = self._acks.pop(data.get("envelope_id", ""), None)
                if future is not None:
                    future.set_result(data)
        return ws

    async def envelope(
        self, kind: str, payload: dict[str, Any], *, retry_attempt: int = 0
    ) -> dict[str, Any]:
        """Send one Socket Mode envelope; return the app's acknowledgement."""
        assert self.socket is not None, "no Socket Mode connection"
        envelope_id = uuid.uuid4().hex
        self._acks[envelope_id] = asyncio.get_running_loop().create_future()
        await self.socket.send_json(
            {
                "envelope_id": envelope_id,
                "type": kind,
                "payload": payload,
                "accepts_response_payload": kind != "events_api",
                "retry_attempt": retry_attempt,
                "retry_reason": "timeout" if retry_attempt else "",
            }
        )
        return await asyncio.wait_for(self._acks[envelope_id], 5.0)


def _matches(info: dict[str, Any], args: dict[str, Any]) -> bool:
    return info["user"] == args.get("user") and args.get("channel") in info["channels"]


def _error(error: str) -> dict[str, Any]:
    return {"ok": False, "error": error}


def _with_metadata(messages: list[dict[str, Any]], args: dict[str, Any]) -> list[dict[str, Any]]:
    """Slack leaves message metadata out unless include_all_metadata is asked for."""
    limit = int(args.get("limit") or 100)
    if str(args.get("include_all_metadata")).lower() in ("true", "1"):
        return messages[:limit]
    return [{k: v for k, v in m.items() if k != "metadata"} for m in messages[:limit]]
