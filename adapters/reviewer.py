"""The optional AI reviewer's model: an OpenAI-compatible chat-completions endpoint.

Works with a local server (Ollama, llama.cpp, vLLM) or a hosted API. Configured by
STUDYBOT_LLM_URL (the base, e.g. http://127.0.0.1:11434/v1), STUDYBOT_LLM_MODEL,
STUDYBOT_LLM_API_KEY (sent as a Bearer token when set), STUDYBOT_LLM_DAILY_BUDGET (requests
per workspace and day), STUDYBOT_LLM_DAILY_TOKENS (tokens per workspace and day) and
STUDYBOT_LLM_TIMEOUT (seconds per attempt). A 429 is retried once after its Retry-After when
that is short. The safety rules are
the core's (``bot.review``); this module only carries the request.
"""

from __future__ import annotations

import asyncio
import importlib.util
import json
from collections.abc import Mapping, Sequence
from email.message import Message

from pydantic import Field, SecretStr

from bot.config import EnvSettings, env
from bot.review import (
    DEFAULT_BUDGET,
    DEFAULT_TOKENS,
    Completion,
    CompletionError,
    ModelReviewer,
    estimate_tokens,
)


class ReviewerSettings(EnvSettings):
    """STUDYBOT_LLM_URL, _MODEL, _API_KEY, _DAILY_BUDGET, _DAILY_TOKENS, _TIMEOUT."""

    url: str = Field("", validation_alias=env("STUDYBOT_LLM_URL"))
    model: str = Field("", validation_alias=env("STUDYBOT_LLM_MODEL"))
    api_key: SecretStr = Field(SecretStr(""), validation_alias=env("STUDYBOT_LLM_API_KEY"))
    daily_budget: int = Field(
        DEFAULT_BUDGET, ge=0, validation_alias=env("STUDYBOT_LLM_DAILY_BUDGET")
    )
    daily_tokens: int = Field(
        DEFAULT_TOKENS, ge=0, validation_alias=env("STUDYBOT_LLM_DAILY_TOKENS")
    )
    timeout: float = Field(30.0, gt=0, validation_alias=env("STUDYBOT_LLM_TIMEOUT"))


class ChatCompletions:
    """POST {url}/chat/completions in JSON mode; the first choice's message text."""

    def __init__(self, settings: ReviewerSettings) -> None:
        self.endpoint = settings.url.rstrip("/") + "/chat/completions"
        self.model = settings.model
        self.headers = {"Content-Type": "application/json"}
        if key := settings.api_key.get_secret_value():
            self.headers["Authorization"] = f"Bearer {key}"
        self.timeout = settings.timeout

    def _body(self, messages: Sequence[dict[str, str]], temperature: float) -> bytes:
        return json.dumps(
            {
                "model": self.model,
                "messages": list(messages),
                "temperature": temperature,
                "response_format": {"type": "json_object"},
            }
        ).encode()

    async def complete(
        self, messages: Sequence[dict[str, str]], *, temperature: float
    ) -> Completion:
        body = self._body(messages, temperature)
        if importlib.util.find_spec("aiohttp") is None:
            raw = await asyncio.to_thread(self._post_urllib, body)
        else:
            raw = await self._post_aiohttp(body)
        try:
            reply = json.loads(raw)
            text = str(reply["choices"][0]["message"]["content"])
        except (ValueError, KeyError, IndexError, TypeError):
            raise CompletionError("the server's reply is not a chat completion") from None
        usage = reply.get("usage") if isinstance(reply, dict) else None
        tokens = usage.get("total_tokens") if isinstance(usage, dict) else None
        if not isinstance(tokens, int) or tokens < 0:
            tokens = estimate_tokens(*(m["content"] for m in messages), text)
        return Completion(text, tokens)

    async def _post_aiohttp(self, body: bytes) -> bytes:
        import aiohttp as http  # in the slack and dev extras

        timeout = http.ClientTimeout(total=self.timeout)
        try:
            async with (
                http.ClientSession(timeout=timeout) as session,
                session.post(self.endpoint, data=body, headers=self.headers) as response,
            ):
                if response.status != 200:
                    raise CompletionError(
                        f"the model server answered HTTP {response.status}",
                        retry_after=_retry_after(response.status, response.headers),
                    )
                return await response.read()
        except http.ClientError as exc:
            raise CompletionError(f"the model server could not be reached: {exc}") from None

    def _post_urllib(self, body: bytes) -> bytes:
        import urllib.error  # the fallback without aiohttp: imported only when used
        import urllib.request

        request = urllib.request.Request(self.endpoint, data=body, headers=self.headers)
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                return bytes(response.read())
        except urllib.error.HTTPError as exc:
            raise CompletionError(
                f"the model server answered HTTP {exc.code}",
                retry_after=_retry_after(exc.code, exc.headers),
            ) from None
        except (urllib.error.URLError, OSError) as exc:
            raise CompletionError(f"the model server could not be reached: {exc}") from None


def _retry_after(status: int, headers: Mapping[str, str] | Message) -> float | None:
    """Seconds a 429 (or 503) asks to wait: its Retry-After in seconds, else one second."""
    if status not in (429, 503):
        return None
    try:
        return max(0.0, float(headers.get("Retry-After") or "1"))
    except ValueError:  # an HTTP date: longer than a queued review should wait
        return float("inf")


def build_reviewer(settings: ReviewerSettings | None = None) -> ModelReviewer | None:
    """The reviewer STUDYBOT_LLM_URL points at, or None when it is not set."""
    settings = settings or ReviewerSettings()
    if not settings.url:
        return None
    return ModelReviewer(
        ChatCompletions(settings),
        daily_budget=settings.daily_budget,
        daily_tokens=settings.daily_tokens,
        # The HTTP timeout acts first; this one also bounds a server that trickles.
        timeout=settings.timeout + 5,
    )
