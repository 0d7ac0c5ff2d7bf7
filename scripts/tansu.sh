#!/usr/bin/env bash
# Provisions Tansu (an Apache Kafka-compatible broker written in Rust) for tests:
#   scripts/tansu.sh install          build it once into $DOZVON_CACHE (default ~/.cache/dozvon),
#                                     from the crates.io sources of tansu 0.6.0 with the patches
#                                     in scripts/tansu-patches/ (see its README.md) applied
#   scripts/tansu.sh start DIR        start it on a free loopback port (TANSU_PORT: on that one) with
#                                     TANSU_STORAGE (default memory://tansu/); prints the bootstrap
#                                     address, writes DIR/tansu.pid, DIR/tansu.addr, DIR/tansu.log
#   scripts/tansu.sh stop DIR         stop the broker started with DIR
set -euo pipefail

TANSU_VERSION=0.6.0
# Bump when anything in scripts/tansu-patches/ changes, so that a cached binary is rebuilt.
TANSU_PATCH_LEVEL=dozvon7
# The crates that the patches touch; they replace the crates.io ones through [patch.crates-io].
TANSU_PATCHED_CRATES="tansu-storage tansu-broker"
TANSU_PATCHES=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/tansu-patches
CACHE=${DOZVON_CACHE:-$HOME/.cache/dozvon}
TANSU_ROOT=$CACHE/tansu-$TANSU_VERSION-$TANSU_PATCH_LEVEL
TANSU_BIN=${TANSU_BIN:-$TANSU_ROOT/bin/tansu}

# The path of the downloaded crates.io package NAME-$TANSU_VERSION.crate, if cargo has it.
crate_file() {
  local file
  for file in "${CARGO_HOME:-$HOME/.cargo}"/registry/cache/*/"$1-$TANSU_VERSION.crate"; do
    if [ -f "$file" ]; then
      echo "$file"
      return 0
    fi
  done
  return 1
}

# Has cargo download the tansu crates (a scratch project depending on them, cargo fetch).
fetch_tansu_crates() {
  local dir=$1 crate
  mkdir -p "$dir/src"
  {
    printf '[package]\nname = "dozvon-tansu-fetch"\nversion = "0.0.0"\nedition = "2021"\npublish = false\n\n'
    printf '[workspace]\n\n[dependencies]\n'
    for crate in tansu $TANSU_PATCHED_CRATES; do
      printf '%s = { version = "=%s", default-features = false }\n' "$crate" "$TANSU_VERSION"
    done
  } >"$dir/Cargo.toml"
  : >"$dir/src/lib.rs"
  cargo fetch --manifest-path "$dir/Cargo.toml" --target "$(rustc -vV | sed -n 's/^host: //p')" >&2
}

# Builds tansu $TANSU_VERSION with scripts/tansu-patches/*.patch into $TANSU_ROOT.
build_patched_tansu() {
  local src=$TANSU_ROOT.src crate file patch
  local config=()
  rm -rf "$src"
  mkdir -p "$src"
  for crate in tansu $TANSU_PATCHED_CRATES; do
    if ! crate_file "$crate" >/dev/null; then
      fetch_tansu_crates "$src/fetch"
      break
    fi
  done
  # The pristine sources, from the (checksum-verified) .crate files rather than
  # registry/src, which a previous build may have touched.
  for crate in tansu $TANSU_PATCHED_CRATES; do
    file=$(crate_file "$crate") || {
      echo "cargo did not fetch $crate $TANSU_VERSION" >&2
      return 1
    }
    tar -xzf "$file" -C "$src"
  done
  for patch in "$TANSU_PATCHES"/*.patch; do
    echo "applying $(basename "$patch")" >&2
    if command -v patch >/dev/null; then
      patch -d "$src" -p1 --forward --batch --no-backup-if-mismatch <"$patch" >&2
    else
      (cd "$src" && git apply -p1 "$patch")
    fi
  done
  # Keep the published Cargo.lock of tansu, so that no dependency version drifts: the
  # only change [patch] needs is that the patched crates come from a path, not crates.io
  # (no source, no checksum), which lets --locked stand.
  awk -v crates=" $TANSU_PATCHED_CRATES " '
    /^\[\[package\]\]/ { name = "" }
    /^name = / { name = $3; gsub(/"/, "", name) }
    (/^source = / || /^checksum = /) && index(crates, " " name " ") { next }
    { print }
  ' "$src/tansu-$TANSU_VERSION/Cargo.lock" >"$src/Cargo.lock.patched"
  mv "$src/Cargo.lock.patched" "$src/tansu-$TANSU_VERSION/Cargo.lock"
  # Its own workspace, even when $DOZVON_CACHE lies inside another Cargo project.
  printf '\n[workspace]\n' >>"$src/tansu-$TANSU_VERSION/Cargo.toml"
  for crate in $TANSU_PATCHED_CRATES; do
    config+=(--config "patch.crates-io.$crate.path=\"$src/$crate-$TANSU_VERSION\"")
  done
  cargo install --path "$src/tansu-$TANSU_VERSION" --locked --features dynostore,libsql \
    --root "$TANSU_ROOT" "${config[@]}" >&2
  rm -rf "$src"
}

install_tansu() {
  if [ -x "$TANSU_BIN" ]; then
    return 0
  fi
  mkdir -p "$CACHE"
  # One install at a time, even when several test runs start together.
  exec 9>"$CACHE/tansu-install.lock"
  flock 9
  if [ ! -x "$TANSU_BIN" ]; then
    echo "building tansu $TANSU_VERSION ($TANSU_PATCH_LEVEL) into $TANSU_ROOT" \
      "(about 30 minutes on a busy 2-core machine)..." >&2
    build_patched_tansu
  fi
  flock -u 9
}

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}

start_tansu() {
  local dir=$1
  mkdir -p "$dir"
  local port=${TANSU_PORT:-}
  if [ -z "$port" ]; then
    port=$(free_port)
  fi
  local storage=${TANSU_STORAGE:-memory://tansu/}
  "$TANSU_BIN" broker \
    --listener-url "tcp://127.0.0.1:$port" \
    --advertised-listener-url "tcp://127.0.0.1:$port" \
    --storage-engine "$storage" >>"$dir/tansu.log" 2>&1 &
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
