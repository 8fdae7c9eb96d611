#!/usr/bin/env bash
# Installs what imans needs on a fresh Debian machine: Debian packages when missing (socat for pty
# pairs, ima-evm-utils for evmctl, attr for setfattr, a C compiler for the fanotify helper), then
# the npm packages, then the native helper. Safe to run again: each step is skipped when done.
set -euo pipefail
cd "$(dirname "$0")/.."

need=()
command -v socat >/dev/null || need+=(socat)
command -v evmctl >/dev/null || need+=(ima-evm-utils)
command -v setfattr >/dev/null || need+=(attr)
command -v cc >/dev/null || need+=(gcc libc6-dev)
command -v openssl >/dev/null || need+=(openssl)
if [ ${#need[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ]; then
    echo "setup: installing ${need[*]}" >&2
    apt-get update -qq >/dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
  else
    echo "setup: missing Debian packages: ${need[*]} (run as root, or: sudo apt-get install ${need[*]})" >&2
    exit 1
  fi
fi

if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  # npm ci refuses lock files written with omit-lockfile-registry-resolved (optional platform
  # packages have no version there): npm install keeps to the lock and writes nothing back.
  npm install --no-audit --no-fund --no-save --loglevel=error
fi

if [ -f host/native/Makefile ]; then
  make -s -C host/native
fi
