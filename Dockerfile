# Probity production image: the app, `probity worker` and `probity scheduler` all run from it
# (see docs/DEPLOY.md and compose.yaml). Built from the lock files; nothing is downloaded at run
# time. Documented, not built in CI.

# --- front-end libraries from the npm registry (package-lock.json) ---------------------------
FROM node:20-bookworm-slim AS web
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund

# --- the application ------------------------------------------------------------------------
FROM python:3.11-slim-bookworm
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 \
    PROBITY_ENV=production PROBITY_HOST=0.0.0.0 PROBITY_PORT=8000 PROBITY_LOG_FORMAT=json
WORKDIR /app
# Locked, hash-checked dependencies first (a layer that changes only with the lock).
COPY requirements.lock ./
RUN pip install --require-hashes --no-deps -r requirements.lock
COPY pyproject.toml setup.py alembic.ini README.md ./
COPY migrations ./migrations
COPY src ./src
# The screening hot paths are compiled here (setup.py: Cython, setuptools and wheel come from the
# lock above); the compiler is removed again in the same layer.
RUN apt-get update && apt-get install -y --no-install-recommends gcc libc6-dev \
    && pip install --no-deps --no-build-isolation -e . \
    && apt-get purge -y --auto-remove gcc libc6-dev && rm -rf /var/lib/apt/lists/* \
    && python -c "import probity.screening as s, probity.screening.learned; \
assert s.compiled_modules(), 'screening not compiled'" \
    && useradd --system --uid 10001 --home /app probity \
    && mkdir -p /app/var/attachments && chown -R probity /app/var
COPY --from=web /app/node_modules ./node_modules
USER probity
EXPOSE 8000
HEALTHCHECK --interval=15s --timeout=5s --start-period=20s --retries=3 \
  CMD python -c "import urllib.request,sys; sys.exit(urllib.request.urlopen('http://127.0.0.1:8000/health/live', timeout=4).status != 200)"
CMD ["probity", "serve"]
