# The emulator as a service: gunicorn workers sharing one SQLite state.
# Build on another base with --build-arg BASE_IMAGE=... (any image with
# python3 >= 3.11 and its venv module).
ARG BASE_IMAGE=python:3.12-slim
FROM ${BASE_IMAGE}

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PATH=/opt/omnitron-mock/bin:$PATH

WORKDIR /build
COPY pyproject.toml README.md CHANGELOG.md ./
COPY contracts ./contracts
COPY mockserver ./mockserver
COPY pytest_plugin ./pytest_plugin
RUN python3 -m venv /opt/omnitron-mock \
    && /opt/omnitron-mock/bin/pip install --no-cache-dir . "gunicorn==27.0.1" \
    && groupadd --system --gid 10001 omnitron \
    && useradd --system --uid 10001 --gid omnitron --home-dir /data --shell /usr/sbin/nologin omnitron \
    && mkdir -p /data \
    && chown omnitron:omnitron /data

WORKDIR /data
# gunicorn binds 0.0.0.0:$PORT and starts $WEB_CONCURRENCY workers; the
# workers share the state in $OMNITRON_MOCK_DB, kept in the volume.
ENV PORT=8000 \
    WEB_CONCURRENCY=2 \
    OMNITRON_MOCK_DB=/data/omnitron-mock.db
VOLUME ["/data"]
EXPOSE 8000
USER 10001:10001
HEALTHCHECK --interval=10s --timeout=5s --start-period=10s --retries=3 CMD ["python", "-m", "mockserver.healthcheck"]
CMD ["gunicorn", "--access-logfile", "-", "--forwarded-allow-ips", "*", "mockserver.wsgi:application"]
