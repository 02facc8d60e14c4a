# Build wheels for the project and its dependencies, then install them into a slim image
# that runs as an unprivileged user.
FROM python:3.11-slim AS build
WORKDIR /src
COPY pyproject.toml README.md ./
COPY bot ./bot
COPY adapters ./adapters
COPY questions ./questions
RUN pip wheel --no-cache-dir --wheel-dir /wheels ".[discord,slack,postgres]"

FROM python:3.11-slim
RUN useradd --create-home --uid 10001 studybot
COPY --from=build /wheels /wheels
RUN pip install --no-cache-dir --no-index /wheels/*.whl && rm -rf /wheels
USER studybot
WORKDIR /home/studybot
RUN mkdir -p data
VOLUME ["/home/studybot/data"]
ENV DATABASE_URL=sqlite+aiosqlite:////home/studybot/data/studybot.db \
    PYTHONUNBUFFERED=1
CMD ["studybot", "run"]
