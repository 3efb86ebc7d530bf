# The emulator as a service: `omnitron-mock serve`, worker processes sharing one state:
# a SQLite file in the volume, or a PostgreSQL database shared by several containers.
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
COPY pyproject.toml README.md CHANGELOG.md LICENSE ./
COPY contracts ./contracts
COPY mockserver ./mockserver
COPY pytest_plugin ./pytest_plugin
# The server alone: the package without its dependencies, then those of them that
# pyproject.toml does not list as the test kit's (pytest, responses, requests:
# integrators run the plugin where their tests run, not in this image), and the
# extras it lists as the image's (postgres: psycopg and its pool).
RUN python3 -m venv /opt/omnitron-mock \
    && python3 -c 'import re, tomllib; project = tomllib.load(open("pyproject.toml", "rb")); ours = project["tool"]["omnitron-mock"]; kit = set(ours["test-kit-dependencies"]); extras = [d for extra in ours["image-extras"] for d in project["project"]["optional-dependencies"][extra]]; print("\n".join(d for d in project["project"]["dependencies"] + extras if re.match(r"[A-Za-z0-9._-]+", d)[0].lower() not in kit))' > server-requirements.txt \
    && /opt/omnitron-mock/bin/pip install --no-cache-dir --no-deps . \
    && /opt/omnitron-mock/bin/pip install --no-cache-dir -r server-requirements.txt \
    && groupadd --system --gid 10001 omnitron \
    && useradd --system --uid 10001 --gid omnitron --home-dir /data --shell /usr/sbin/nologin omnitron \
    && mkdir -p /data \
    && chown omnitron:omnitron /data

WORKDIR /data
# `serve` reads OMNITRON_MOCK_* (see docs/configuration.md): it binds all interfaces on
# $OMNITRON_MOCK_PORT and forks $OMNITRON_MOCK_WORKERS processes sharing the
# state in $OMNITRON_MOCK_DB: a file kept in the volume, or a postgresql:// URL.
# waitress reads requests in an event loop, so slow clients hold no worker
# thread. X-Forwarded-* headers are ignored unless OMNITRON_MOCK_TRUSTED_PROXY
# names the proxy.
ENV OMNITRON_MOCK_HOST=0.0.0.0 \
    OMNITRON_MOCK_PORT=8000 \
    OMNITRON_MOCK_WORKERS=2 \
    OMNITRON_MOCK_DB=/data/omnitron-mock.db
VOLUME ["/data"]
EXPOSE 8000
USER 10001:10001
HEALTHCHECK --interval=10s --timeout=5s --start-period=10s --retries=3 CMD ["python", "-m", "omnitron_mock.healthcheck"]
CMD ["omnitron-mock", "serve"]
