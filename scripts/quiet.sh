#!/usr/bin/env bash
# quiet.sh LABEL COMMAND...: run an installer step (venv, pip, apt, the sandbox build) with
# its output in var/install.log; print one line, or on failure the log's last lines.
set -uo pipefail
label=$1
shift
log=${INSTALL_LOG:-var/install.log}
mkdir -p "$(dirname "$log")"
printf '%s ... ' "$label"
{ echo "=== $(date -u +%FT%TZ) $label: $*"; } >>"$log"
if "$@" >>"$log" 2>&1; then
  echo "ok"
else
  status=$?
  echo "FAILED (exit $status); the end of $log:"
  tail -n 30 "$log" | sed 's/^/  | /'
  exit "$status"
fi
