#!/usr/bin/env bash
# Installs everything tapedup needs on a machine that has only Node 20 and npm:
# pnpm, the Debian packages for the SCSI path (when root and missing), the
# workspace dependencies (better-sqlite3 and the native addon compile here),
# then builds the runnable bundles. Safe to run again.
set -euo pipefail
cd "$(dirname "$0")/.."

log() { printf '[setup] %s\n' "$*"; }

if ! command -v pnpm >/dev/null 2>&1 || ! pnpm --version 2>/dev/null | grep -q '^10\.'; then
  log "installing pnpm 10"
  npm install -g pnpm@10 >/dev/null
fi

need_apt=()
command -v tgtd >/dev/null 2>&1 || need_apt+=(tgt)
[ -f /usr/include/iscsi/iscsi.h ] || need_apt+=(libiscsi-dev)
if [ ${#need_apt[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    log "installing ${need_apt[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >/dev/null
    apt-get install -y -qq "${need_apt[@]}" >/dev/null
  else
    log "missing ${need_apt[*]} and not root: the iSCSI and tgtimg tests will be skipped with a named reason"
  fi
fi

log "installing workspace dependencies"
pnpm install --frozen-lockfile --reporter=append-only 2>&1 | grep -vE '^(Progress|Packages:)' || true
test -d node_modules/.pnpm || { log "pnpm install failed"; exit 1; }

log "building"
pnpm run -s build
