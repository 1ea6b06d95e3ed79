#!/usr/bin/env bash
# `make image`: build k8s/Dockerfile with buildah (Debian's package; run as root).
#
#   IMAGE=nexafi:dev            the tag to build
#   PYTHON_IMAGE=...            the base; default python:3.11-slim when a registry serves it,
#                               else a local Debian bookworm base made with debootstrap
#   NEXAFI_IMAGE_DATA=.data/image   where the debootstrap root is kept between runs
#   STORAGE_DRIVER=vfs          buildah's storage (vfs works everywhere; overlay where the kernel allows)
#   NO_CACHE=1                  rebuild every layer (default: reuse buildah's layer cache)
#
# The Dockerfile keeps its public base (python:3.11-slim). Where no registry is reachable
# (this workplace reaches Debian's archive and PyPI, not Docker Hub), the same build runs on a
# base made here: Debian bookworm minbase with its python3.11 (3.11.2), python3-venv and
# ca-certificates, imported as localhost/nexafi-base:bookworm. Both bases are Debian bookworm
# with CPython 3.11, so the wheels of requirements-runtime.lock fit either.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
IMAGE=${IMAGE:-nexafi:dev}
DATA=${NEXAFI_IMAGE_DATA:-$ROOT/.data/image}
LOCAL_BASE=localhost/nexafi-base:bookworm
DEBIAN_MIRROR=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
export STORAGE_DRIVER=${STORAGE_DRIVER:-vfs}

need() {
  command -v "$1" >/dev/null && return
  echo "image: installing $2 (Debian)" >&2
  apt-get update -q >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "$2" >/dev/null
}

local_base() {
  if buildah inspect --type image "$LOCAL_BASE" >/dev/null 2>&1; then
    return
  fi
  need debootstrap debootstrap
  local rootfs=$DATA/bookworm
  if [ ! -x "$rootfs/usr/bin/python3.11" ]; then
    rm -rf "$rootfs"
    mkdir -p "$DATA"
    echo "image: debootstrap bookworm (minbase, python3.11) into $rootfs" >&2
    nice debootstrap --variant=minbase --include=python3,python3-venv,ca-certificates \
      bookworm "$rootfs" "$DEBIAN_MIRROR" >"$DATA/debootstrap.log" 2>&1 \
      || { tail -20 "$DATA/debootstrap.log" >&2; exit 1; }
    # What debian:bookworm-slim leaves out: apt lists, documentation, locales, caches.
    chroot "$rootfs" apt-get clean
    rm -rf "$rootfs"/var/lib/apt/lists/* "$rootfs"/usr/share/doc/* "$rootfs"/usr/share/man/* \
      "$rootfs"/usr/share/info/* "$rootfs"/usr/share/locale/* "$rootfs"/var/cache/debconf/*-old \
      "$rootfs"/var/log/*.log
  fi
  echo "image: importing $rootfs as $LOCAL_BASE" >&2
  local ctr
  ctr=$(buildah from scratch)
  tar -C "$rootfs" -cf "$DATA/bookworm.tar" .
  buildah add --quiet "$ctr" "$DATA/bookworm.tar" / >/dev/null
  rm -f "$DATA/bookworm.tar"
  buildah config --env PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    --env LANG=C.UTF-8 --cmd /bin/bash "$ctr"
  buildah commit --quiet --rm "$ctr" "$LOCAL_BASE" >/dev/null
}

need buildah buildah
if [ -z "${PYTHON_IMAGE:-}" ]; then
  if buildah pull --quiet docker.io/library/python:3.11-slim >/dev/null 2>&1; then
    PYTHON_IMAGE=docker.io/library/python:3.11-slim
  else
    echo "image: python:3.11-slim cannot be pulled here; using a local Debian bookworm base" >&2
    local_base
    PYTHON_IMAGE=$LOCAL_BASE
  fi
fi

echo "image: building $IMAGE on $PYTHON_IMAGE" >&2
cd "$ROOT"
nice buildah bud --layers ${NO_CACHE:+--no-cache} --isolation chroot --network host \
  --ignorefile k8s/Dockerfile.dockerignore \
  --secret id=pip-ca,src="${PIP_CA:-/etc/ssl/certs/ca-certificates.crt}" \
  --build-arg "PYTHON_IMAGE=$PYTHON_IMAGE" \
  -f k8s/Dockerfile -t "$IMAGE" .
buildah images --format '{{.Name}}:{{.Tag}} {{.Size}}' "$IMAGE"
