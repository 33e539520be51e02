#!/usr/bin/env bash
# `make image-check`: build the real image without Docker and run its start command.
#
# Needs root, podman and debootstrap (Debian packages). The base image is bootstrapped from
# Debian packages once and cached in podman's store (localhost/debian-py:bookworm); Python
# packages come from a wheelhouse downloaded on the host (the build has no access to the host's
# package-index certificates). Then tests/test_deploy_container.py runs the image's ENTRYPOINT
# from the image's own filesystem, as the image's non-root user, with chroot.
set -euo pipefail
cd "$(dirname "$0")/.."

BASE=localhost/debian-py:bookworm
TAG=localhost/runwatch:check
CACHE=${RUNWATCH_IMAGE_CACHE:-/var/tmp/runwatch-image-check}
PY=${PY:-.venv/bin/python}

for tool in podman debootstrap chroot; do
  command -v "$tool" >/dev/null || {
    echo "image-check: $tool is missing (apt-get install -y podman debootstrap)" >&2; exit 2; }
done
[ "$(id -u)" -eq 0 ] || { echo "image-check: needs root (debootstrap, podman image mount)" >&2; exit 2; }

t0=$(date +%s)
if ! podman image exists "$BASE"; then
  mirror=$(sed -n 's/^URIs: *//p' /etc/apt/sources.list.d/*.sources 2>/dev/null | head -n1)
  [ -n "$mirror" ] || mirror=$(awk '$1 == "deb" {print $2; exit}' /etc/apt/sources.list)
  rootfs="$CACHE/rootfs"
  rm -rf "$rootfs" && mkdir -p "$rootfs"
  echo "image-check: bootstrapping the base from $mirror (about a minute or two)"
  debootstrap --variant=minbase --include=python3,python3-venv,python3-pip,ca-certificates \
    bookworm "$rootfs" "$mirror" >"$CACHE/debootstrap.log"
  tar -C "$rootfs" -c . | podman import - "$BASE" >/dev/null
  rm -rf "$rootfs"
fi
t1=$(date +%s)

mkdir -p "$CACHE/wheelhouse"
"$PY" -m pip download --quiet --dest "$CACHE/wheelhouse" --requirement requirements.txt
t2=$(date +%s)

podman build --isolation=chroot --network=host --quiet \
  --build-arg BASE_IMAGE="$BASE" \
  --build-arg PIP_INSTALL_ARGS="--no-index --find-links=/wheelhouse" \
  --volume "$CACHE/wheelhouse:/wheelhouse:ro" \
  --tag "$TAG" . >/dev/null
t3=$(date +%s)

root=$(podman image mount "$TAG")
trap 'podman image unmount "$TAG" >/dev/null' EXIT
RUNWATCH_IMAGE_ROOT="$root" RUNWATCH_IMAGE_REF="$TAG" \
  "$PY" -m pytest -q -p no:cacheprovider tests/test_deploy_container.py -k image
t4=$(date +%s)
echo "image-check: base $((t1 - t0)) s, wheels $((t2 - t1)) s, build $((t3 - t2)) s, run $((t4 - t3)) s"
