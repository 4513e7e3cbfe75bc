# The RwG booking sandbox as a small, non-root image.
#   docker build -t rwg-sandbox .          (buildah: add --format docker to keep the HEALTHCHECK)
#   docker run -p 8080:8080 rwg-sandbox
# BASE_IMAGE may be any Debian-like image with python3 (>= 3.11) and its venv module.
ARG BASE_IMAGE=python:3.12-slim

FROM ${BASE_IMAGE} AS build
# Ignore any pip config of the base image and talk to PyPI (override PIP_INDEX_URL for a mirror).
# Trust the system CA store, so a store mounted at build time (-v /etc/ssl/certs:...) is honoured;
# pass --build-arg PIP_CERT= to use pip's own bundle instead.
ARG PIP_INDEX_URL=https://pypi.org/simple
ARG PIP_CERT=/etc/ssl/certs/ca-certificates.crt
ENV PIP_INDEX_URL=${PIP_INDEX_URL} PIP_CERT=${PIP_CERT} PIP_CONFIG_FILE=/dev/null PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 PYTHONDONTWRITEBYTECODE=1
WORKDIR /src
RUN python3 -m venv /opt/venv
# Dependencies first, in their own layer, so a code change does not download them again.
COPY pyproject.toml ./
RUN python3 -c "import tomllib; print('\n'.join(tomllib.load(open('pyproject.toml', 'rb'))['project']['dependencies']))" \
        > /tmp/requirements.txt \
    && /opt/venv/bin/pip install -r /tmp/requirements.txt
COPY . .
# pip is not needed at run time: drop it from the venv the runtime stage copies.
RUN /opt/venv/bin/pip install --no-deps . \
    && /opt/venv/bin/python -m pip uninstall --yes --quiet pip

FROM ${BASE_IMAGE} AS runtime
LABEL org.opencontainers.image.title="rwg-booking-sandbox" \
      org.opencontainers.image.description="Local stateful sandbox of Google's Booking Server API v3"
RUN groupadd --gid 10001 sandbox \
    && useradd --uid 10001 --gid 10001 --home-dir /srv --no-create-home --shell /usr/sbin/nologin sandbox \
    && mkdir -p /srv/recordings /srv/data \
    && chown 10001:10001 /srv/recordings /srv/data
COPY --from=build /opt/venv /opt/venv
WORKDIR /srv
COPY app.py ./
COPY fixtures ./fixtures
ENV PATH=/opt/venv/bin:$PATH VIRTUAL_ENV=/opt/venv \
    MOCK_HOST=0.0.0.0 MOCK_PORT=8080 MOCK_RECORDINGS_DIR=/srv/recordings \
    PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1
USER 10001:10001
VOLUME ["/srv/recordings", "/srv/data"]
EXPOSE 8080
HEALTHCHECK --interval=15s --timeout=5s --start-period=20s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request as u; t = os.environ.get('MOCK_ADMIN_TOKEN'); u.urlopen(u.Request('http://127.0.0.1:%s/_admin/health' % os.environ.get('MOCK_PORT', '8080'), headers={'Authorization': 'Bearer ' + t} if t else {}), timeout=4)"]
CMD ["python", "app.py"]
