#!/usr/bin/env bash
# Debian packages the sandbox needs on the host: mmdebstrap builds the Asterisk chroot.
set -euo pipefail
missing=()
command -v mmdebstrap >/dev/null || missing+=(mmdebstrap)
command -v chroot >/dev/null || missing+=(coreutils)
if ((${#missing[@]})); then
  if [[ $(id -u) -ne 0 ]]; then
    echo "system-deps: need root to install: ${missing[*]}" >&2
    exit 1
  fi
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}"
fi
