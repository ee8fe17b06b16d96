# One image for intake, workflow and notifier; compose picks the service with its `command`.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_ROOT_USER_ACTION=ignore \
    PYTHONPATH=/app

WORKDIR /app

RUN groupadd --system --gid 10001 switchboard \
    && useradd --system --uid 10001 --gid switchboard --no-create-home --home-dir /app \
        --shell /usr/sbin/nologin switchboard

# Dependencies first, straight from pyproject.toml, so a code change does not reinstall them.
# The code itself runs from /app (PYTHONPATH), with its rules file and message templates
# beside it, exactly as the tests run it.
COPY pyproject.toml ./
RUN python -c "import tomllib; print(*tomllib.load(open('pyproject.toml', 'rb'))['project']['dependencies'], sep='\n')" > /tmp/requirements.txt \
    && pip install --no-cache-dir -r /tmp/requirements.txt \
    && rm /tmp/requirements.txt

COPY shared ./shared
COPY services ./services
# The operator tools (tail, dead-letters) run in the image too: `docker compose exec workflow
# python -m tools tail`.
COPY tools ./tools
RUN python -m compileall -q shared services tools

USER switchboard

EXPOSE 8000 8001 8002

# Liveness/readiness checks live in docker-compose.yml, one per service and port.
CMD ["python", "-m", "services.intake"]
