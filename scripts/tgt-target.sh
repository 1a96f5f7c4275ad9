#!/usr/bin/env bash
# A throwaway iSCSI tape target for tests: tgtd on 127.0.0.1 with tape LUNs on
# fresh tgtimg cartridges. Every instance uses its own management channel
# (tgtd --control-port), so several can run next to each other and next to a
# system tgtd without clashing.
#
#   tgt-target.sh start <port> <n-luns> <workdir>   prints the target IQN
#   tgt-target.sh add-lun <workdir> <lun>           a fresh cartridge as LUN <lun>
#   tgt-target.sh del-lun <workdir> <lun>
#   tgt-target.sh stop <workdir>
#   tgt-target.sh kill <workdir>                    SIGKILL, as a crash would (cartridges stay)
#   tgt-target.sh resume <workdir>                  restart a killed target on its cartridges
#
# Cartridge size in MB: TAPEDUP_TGT_CARTRIDGE_MB (default 256); thin-provisioned.
set -euo pipefail

die() { printf 'tgt-target: %s\n' "$*" >&2; exit 1; }
need() { command -v "$1" >/dev/null 2>&1 || die "$1 not found (install the Debian package tgt)"; }

cartridge_mb=${TAPEDUP_TGT_CARTRIDGE_MB:-256}

load_state() {
  local dir=$1
  [ -f "$dir/tgt.env" ] || die "no target state in $dir"
  # shellcheck disable=SC1091
  . "$dir/tgt.env"
}

adm() { tgtadm -C "$CONTROL_PORT" --lld iscsi "$@"; }

start_daemon() {
  local dir=$1
  # -f keeps tgtd in the foreground so that its pid is ours to stop; its RDMA and oom_score_adj
  # warnings at start are harmless.
  tgtd -f -C "$CONTROL_PORT" --iscsi "portal=127.0.0.1:$PORT" >>"$dir/tgtd.log" 2>&1 &
  echo $! >"$dir/tgtd.pid"
  for _ in $(seq 1 100); do
    if adm --mode system --op show >/dev/null 2>&1; then break; fi
    kill -0 "$(cat "$dir/tgtd.pid")" 2>/dev/null || die "tgtd exited at start: $(tail -3 "$dir/tgtd.log")"
    sleep 0.05
  done
  adm --mode system --op show >/dev/null 2>&1 || die "tgtd management channel did not come up"
  adm --mode target --op new --tid 1 --targetname "$IQN"
}

add_lun_file() {
  local lun=$1 file=$2
  adm --mode logicalunit --op new --tid 1 --lun "$lun" --device-type tape --bstype ssc -b "$file"
}

new_lun() {
  local dir=$1 lun=$2
  local file="$dir/lun$lun.tape"
  rm -f "$file"
  tgtimg --op new --device-type tape --barcode="TD${PORT}L${lun}" --size="$cartridge_mb" \
    --type=data --file="$file" --thin-provisioning >/dev/null
  add_lun_file "$lun" "$file"
}

cmd=${1:-}
case "$cmd" in
  start)
    [ $# -eq 4 ] || die "usage: $0 start <port> <n-luns> <workdir>"
    port=$2 luns=$3 dir=$4
    need tgtd; need tgtadm; need tgtimg
    [[ $port =~ ^[0-9]+$ ]] && [ "$port" -gt 0 ] && [ "$port" -lt 65536 ] || die "port must be 1..65535"
    [[ $luns =~ ^[0-9]+$ ]] || die "n-luns must be a number"
    mkdir -p "$dir"
    # The management channel is a unix socket named after a number below 32768 (tgtd keeps it in a
    # short); derived from the iSCSI port, which is unique per instance. 0 is the system tgtd's.
    control=$((port % 32768))
    [ "$control" -ne 0 ] || control=32767
    iqn="iqn.2024-01.io.tapedup:test.$port"
    cat >"$dir/tgt.env" <<ENV
PORT=$port
CONTROL_PORT=$control
IQN=$iqn
ENV
    CONTROL_PORT=$control PORT=$port IQN=$iqn
    : >"$dir/tgtd.log"
    start_daemon "$dir"
    for lun in $(seq 1 "$luns"); do new_lun "$dir" "$lun"; done
    adm --mode target --op bind --tid 1 -I ALL
    echo "$iqn"
    ;;
  add-lun)
    [ $# -eq 3 ] || die "usage: $0 add-lun <workdir> <lun>"
    load_state "$2"
    new_lun "$2" "$3"
    ;;
  del-lun)
    [ $# -eq 3 ] || die "usage: $0 del-lun <workdir> <lun>"
    load_state "$2"
    adm --mode logicalunit --op delete --tid 1 --lun "$3" || true
    rm -f "$2/lun$3.tape"
    ;;
  kill)
    [ $# -eq 2 ] || die "usage: $0 kill <workdir>"
    pid=$(cat "$2/tgtd.pid" 2>/dev/null || true)
    if [ -n "$pid" ]; then
      kill -KILL "$pid" 2>/dev/null || true
      for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.02; done
    fi
    rm -f "$2/tgtd.pid"
    ;;
  resume)
    [ $# -eq 2 ] || die "usage: $0 resume <workdir>"
    dir=$2
    load_state "$dir"
    start_daemon "$dir"
    for file in "$dir"/lun*.tape; do
      [ -e "$file" ] || continue
      lun=${file##*/lun}
      add_lun_file "${lun%.tape}" "$file"
    done
    adm --mode target --op bind --tid 1 -I ALL
    ;;
  stop)
    [ $# -eq 2 ] || die "usage: $0 stop <workdir>"
    dir=$2
    load_state "$dir"
    pid=$(cat "$dir/tgtd.pid" 2>/dev/null || true)
    # tgtd ignores SIGTERM: remove the target (dropping sessions), then ask the daemon to exit.
    adm --mode target --op delete --force --tid 1 >/dev/null 2>&1 || true
    adm --mode system --op delete >/dev/null 2>&1 || true
    if [ -n "$pid" ]; then
      for _ in $(seq 1 60); do kill -0 "$pid" 2>/dev/null || break; sleep 0.05; done
      if kill -0 "$pid" 2>/dev/null; then kill -KILL "$pid" 2>/dev/null || true; fi
    fi
    rm -f "$dir/tgtd.pid"
    ;;
  *)
    die "usage: $0 start <port> <n-luns> <workdir> | add-lun|del-lun <workdir> <lun> | stop|kill|resume <workdir>"
    ;;
esac
