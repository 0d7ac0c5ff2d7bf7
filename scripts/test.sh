#!/usr/bin/env bash
# The test command of the README: runs the whole suite on a fresh machine.
# Integration tests that need a broker use $DOZVON_TEST_BROKERS; when it is unset this script
# provisions Tansu (builds it once into ~/.cache/dozvon), starts it, and stops it afterwards.
set -euo pipefail
cd "$(dirname "$0")/.."

run_dir=$(mktemp -d "${TMPDIR:-/tmp}/dozvon-test.XXXXXX")
cleanup() {
  scripts/tansu.sh stop "$run_dir" || true
}
trap cleanup EXIT

# The observability tests run a real Prometheus (promtool too) and headless Chromium: Debian
# packages, installed here when missing.
missing=()
command -v promtool >/dev/null 2>&1 && command -v prometheus >/dev/null 2>&1 || missing+=(prometheus)
[ -x /usr/bin/chromium ] || missing+=(chromium)
if [ ${#missing[@]} -gt 0 ]; then
  echo "installing Debian packages for the observability tests: ${missing[*]}"
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo=sudo
  $sudo apt-get update -q
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

if [ -z "${DOZVON_TEST_BROKERS:-}" ]; then
  DOZVON_TEST_BROKERS=$(scripts/tansu.sh start "$run_dir")
  export DOZVON_TEST_BROKERS
  echo "tansu broker at $DOZVON_TEST_BROKERS (log: $run_dir/tansu.log)"
fi

cargo test --locked --all-targets "$@"
cargo test --locked --doc
