#!/usr/bin/env bash
# Make sure the Docker engine has the local base image localhost/py-base (Debian bookworm minbase + python3),
# the stand-in for python:3.12-slim where Docker Hub cannot be reached. Idempotent and cached: the root is
# bootstrapped once (under $RWG_BASE_CACHE, kept between runs) and imported only when the engine lacks the image.
# Needs root (debootstrap) and a Docker engine (DOCKER_HOST as usual).
set -euo pipefail

IMAGE=localhost/py-base
CACHE="${RWG_BASE_CACHE:-/var/cache/rwg-sandbox/py-base}"
MIRROR="${RWG_DEBIAN_MIRROR:-http://deb.debian.org/debian}"
HOST_CA=/etc/ssl/certs/ca-certificates.crt

die() { echo "build_base.sh: $*" >&2; exit 1; }

[ "$(id -u)" = 0 ] || die "must run as root (debootstrap needs it)"
command -v docker >/dev/null 2>&1 || die "docker not found"

if docker image inspect "$IMAGE" >/dev/null 2>&1; then
    echo "build_base.sh: $IMAGE already present"
    exit 0
fi

if [ ! -x "$CACHE/usr/bin/python3" ] || [ ! -f "$CACHE/.complete" ]; then
    if ! command -v debootstrap >/dev/null 2>&1; then
        command -v apt-get >/dev/null 2>&1 || die "debootstrap not found; install it by hand"
        DEBIAN_FRONTEND=noninteractive apt-get install -y -q debootstrap >/dev/null \
            || { apt-get update -q >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -q debootstrap >/dev/null; } \
            || die "apt-get install debootstrap failed"
    fi
    echo "build_base.sh: bootstrapping bookworm minbase into $CACHE"
    rm -rf "$CACHE"
    mkdir -p "$CACHE"
    debootstrap --variant=minbase --include=python3,python3-venv,ca-certificates \
        bookworm "$CACHE" "$MIRROR" >/dev/null || die "debootstrap failed (is $MIRROR reachable?)"
    # Slim the root: docs, man pages, translations and apt caches are not needed at run time.
    rm -rf "$CACHE"/usr/share/{doc,man,info,locale}/* "$CACHE"/var/lib/apt/lists/* \
        "$CACHE"/var/cache/apt/*.bin "$CACHE"/var/cache/apt/archives/*.deb
    touch "$CACHE/.complete"
fi

# The image build downloads from PyPI: the base trusts what this host trusts (e.g. a TLS-inspecting proxy's CA).
if [ -s "$HOST_CA" ]; then
    cp "$HOST_CA" "$CACHE/etc/ssl/certs/ca-certificates.crt"
fi

echo "build_base.sh: importing $CACHE as $IMAGE"
tar -C "$CACHE" --exclude=./.complete --exclude="./dev/*" --exclude="./proc/*" --exclude="./sys/*" --numeric-owner -c . \
    | docker import --change 'CMD ["python3"]' - "$IMAGE" >/dev/null \
    || die "docker import failed"
docker image inspect "$IMAGE" >/dev/null 2>&1 || die "$IMAGE missing after import"
echo "build_base.sh: $IMAGE ready"
