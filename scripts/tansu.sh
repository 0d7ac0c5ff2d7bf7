#!/usr/bin/env bash
# Provisions Tansu (an Apache Kafka-compatible broker written in Rust) for tests:
#   scripts/tansu.sh install          build it once into $DOZVON_CACHE (default ~/.cache/dozvon)
#   scripts/tansu.sh start DIR        start it on a free loopback port; prints the bootstrap address,
#                                     writes DIR/tansu.pid, DIR/tansu.addr and DIR/tansu.log
#   scripts/tansu.sh stop DIR         stop the broker started with DIR
set -euo pipefail

TANSU_VERSION=0.6.0
CACHE=${DOZVON_CACHE:-$HOME/.cache/dozvon}
TANSU_ROOT=$CACHE/tansu-$TANSU_VERSION
TANSU_BIN=${TANSU_BIN:-$TANSU_ROOT/bin/tansu}

install_tansu() {
  if [ -x "$TANSU_BIN" ]; then
    return 0
  fi
  mkdir -p "$CACHE"
  # One install at a time, even when several test runs start together.
  exec 9>"$CACHE/tansu-install.lock"
  flock 9
  if [ ! -x "$TANSU_BIN" ]; then
    echo "installing tansu $TANSU_VERSION into $TANSU_ROOT (about 8 minutes on 2 cores)..." >&2
    cargo install tansu --version "$TANSU_VERSION" --locked --features dynostore,libsql \
      --root "$TANSU_ROOT" >&2
  fi
  flock -u 9
}

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}

start_tansu() {
  local dir=$1
  mkdir -p "$dir"
  local port
  port=$(free_port)
  local storage=${TANSU_STORAGE:-memory://tansu/}
  "$TANSU_BIN" broker \
    --listener-url "tcp://127.0.0.1:$port" \
    --advertised-listener-url "tcp://127.0.0.1:$port" \
    --storage-engine "$storage" >"$dir/tansu.log" 2>&1 &
  echo $! >"$dir/tansu.pid"
  for _ in $(seq 1 100); do
    if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
      echo "127.0.0.1:$port" >"$dir/tansu.addr"
      echo "127.0.0.1:$port"
      return 0
    fi
    if ! kill -0 "$(cat "$dir/tansu.pid")" 2>/dev/null; then
      echo "tansu exited; its log:" >&2
      cat "$dir/tansu.log" >&2
      return 1
    fi
    sleep 0.1
  done
  echo "tansu did not listen on port $port within 10 s; its log:" >&2
  cat "$dir/tansu.log" >&2
  return 1
}

stop_tansu() {
  local dir=$1
  if [ -f "$dir/tansu.pid" ]; then
    kill "$(cat "$dir/tansu.pid")" 2>/dev/null || true
    rm -f "$dir/tansu.pid"
  fi
}

case "${1:-}" in
  install) install_tansu ;;
  start) install_tansu && start_tansu "${2:?directory}" ;;
  stop) stop_tansu "${2:?directory}" ;;
  *) echo "usage: $0 install | start DIR | stop DIR" >&2; exit 2 ;;
esac
