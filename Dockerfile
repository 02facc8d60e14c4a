# Two stages: wheels are built from requirements.lock (every dependency pinned to one
# version, each file checked against its hash), then installed into a slim image that runs
# as an unprivileged user. Building the same commit again installs the same versions.
ARG PYTHON_IMAGE=python:3.11.15-slim-bookworm

FROM ${PYTHON_IMAGE} AS build
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1
WORKDIR /src
COPY requirements.lock ./
RUN pip wheel --require-hashes --wheel-dir /wheels -r requirements.lock
COPY pyproject.toml README.md ./
COPY bot ./bot
COPY adapters ./adapters
COPY questions ./questions
RUN pip wheel --no-deps --wheel-dir /wheels .

FROM ${PYTHON_IMAGE}
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1
RUN groupadd --gid 10001 studybot \
    && useradd --create-home --uid 10001 --gid 10001 studybot
COPY --from=build /wheels /wheels
RUN pip install --no-index --no-deps /wheels/*.whl && rm -rf /wheels
USER 10001:10001
WORKDIR /home/studybot
RUN mkdir -p data
VOLUME ["/home/studybot/data"]
ENV DATABASE_URL=sqlite+aiosqlite:////home/studybot/data/studybot.db \
    PYTHONUNBUFFERED=1 \
    STUDYBOT_HTTP_PORT=8080
# 3000: Slack's HTTP mode (/slack/events); 8080: /healthz and /metrics (STUDYBOT_HTTP_PORT).
EXPOSE 3000 8080
HEALTHCHECK --interval=30s --timeout=10s --start-period=60s --retries=3 \
    CMD ["studybot", "health"]
CMD ["studybot", "run"]
