#!/usr/bin/env bash
# `make image-test`: build the worker image from a local Debian base and run broker + workers in containers.
# Needs root (podman without a user namespace set-up, debootstrap); installs podman, runc and debootstrap with apt.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "$(id -u)" != "0" ]; then
  echo "image-test: needs root (podman with runc, debootstrap); run it as root or skip it" >&2
  exit 1
fi
missing=()
for tool in podman runc debootstrap; do command -v "$tool" >/dev/null 2>&1 || missing+=("$tool"); done
if [ "${#missing[@]}" -gt 0 ]; then
  echo "image-test: installing ${missing[*]} with apt-get"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq podman runc debootstrap >/dev/null
fi
PYTHON="${PYTHON:-.venv/bin/python}"
# podman-compose from PyPI (Debian's 1.0.3 predates the compose features the file uses), for --compose.
if [[ " $* " == *" --compose "* ]] && ! command -v podman-compose >/dev/null 2>&1 \
   && [ ! -x "$(dirname "$PYTHON")/podman-compose" ]; then
  "$PYTHON" -m pip install --quiet 'podman-compose>=1.2'
fi
exec "$PYTHON" deploy/image_test.py "$@"
