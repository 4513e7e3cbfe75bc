#!/usr/bin/env bash
# Make sure the local base image localhost/py-base (Debian bookworm minbase + python3) exists.
# Idempotent: installs podman/buildah/debootstrap if missing, bootstraps the root once
# (cached under $RWG_BASE_CACHE), imports it only when the image is absent. Needs root.
set -euo pipefail

IMAGE=localhost/py-base
CACHE="${RWG_BASE_CACHE:-/var/cache/rwg-sandbox/py-base}"
MIRROR="${RWG_DEBIAN_MIRROR:-http://deb.debian.org/debian}"

die() { echo "build_base.sh: $*" >&2; exit 1; }

[ "$(id -u)" = 0 ] || die "must run as root (debootstrap and buildah chroot isolation need it)"

missing=()
for tool in podman buildah debootstrap; do
    command -v "$tool" >/dev/null 2>&1 || missing+=("$tool")
done
if [ "${#missing[@]}" -gt 0 ]; then
    echo "build_base.sh: installing ${missing[*]}"
    command -v apt-get >/dev/null 2>&1 || die "apt-get not found; install ${missing[*]} by hand"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -q >/dev/null || die "apt-get update failed"
    apt-get install -y -q podman buildah debootstrap >/dev/null || die "apt-get install ${missing[*]} failed"
fi

if podman image exists "$IMAGE"; then
    echo "build_base.sh: $IMAGE already present"
    exit 0
fi

if [ ! -x "$CACHE/usr/bin/python3" ] || [ ! -f "$CACHE/.complete" ]; then
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

echo "build_base.sh: importing $CACHE as $IMAGE"
tar -C "$CACHE" --exclude=./.complete -c . | podman import --quiet - "$IMAGE" >/dev/null \
    || die "podman import failed"
podman image exists "$IMAGE" || die "$IMAGE missing after import"
echo "build_base.sh: $IMAGE ready"
