#!/usr/bin/env bash
# Latency benchmark (issue 6, item 1c): produce -> finding visible to a read_committed consumer,
# under fixed offered loads of background traffic (BENCHMARKS.md has the method and results).
#
#   scripts/bench-latency.sh [LOADS [SECONDS [PARTITIONS]]]     (default "5000 20000 50000" 30 4)
#
# 1. starts its own Tansu broker (scripts/tansu.sh, memory storage), or uses BROKERS;
# 2. starts one `dozvon run` (exactly_once unless GUARANTEE says otherwise, [processing]
#    defaults: commit every 100 ms) on bench.calls / bench.leads, and waits until it is ready;
# 3. for each offered load L (events/s over both topics): publishes generated traffic with
#    `dozvon gen --rate L` (a tenant of its own per load, so loads share no lead), waits until
#    it flows and 5 s more, then runs examples/latency.rs for SECONDS: 20 probe calls/s, each an answered 60 s call
#    that dozvon reports on arrival as a call_listen QC review, timed from just before its
#    produce call to its review reaching a read_committed consumer; then stops the traffic;
# 4. prints, per load, the events/s dozvon committed during the probe window (below L when it
#    cannot keep up), the probes seen and the latency p50 / p90 / p99 / max in ms; the work
#    directory keeps every log and dozvon's /metrics after each load (metrics-L.txt: commit
#    duration and dozvon's own finding-latency histograms, cumulative). The probe's time is
#    also split (p50 / p99 each): ack = the broker acknowledging the probe; out = until dozvon
#    produced the review (its CreateTime); vis = from there until the review was read.
#
# Environment (all optional):
#   DOZVON      the dozvon binary (default $CARGO_TARGET_DIR/release/dozvon, else
#               target/release/dozvon; `cargo build --release`)
#   PROBE       the probe (default next to dozvon: release/examples/latency;
#               `cargo build --release --example latency`)
#   GUARANTEE   exactly_once (default) or at_least_once
#   PROCESSING  TOML lines added to [processing], e.g. PROCESSING='commit_interval = "50ms"'
#   CONSUMER_PROPERTIES, PRODUCER_PROPERTIES  TOML lines added to [kafka.consumer_properties]
#               / [kafka.producer_properties], e.g. PRODUCER_PROPERTIES='"linger.ms" = "1"'
#   PROBES_PER_S  probe calls per second (default 20)
#   BROKERS     an existing Kafka to use instead of starting Tansu (bench.calls, bench.leads
#               and the bench.latency.* topics must not exist yet)
#   BENCH_DIR   working directory (default a new /tmp/dozvon-bench-latency.XXXXXX)
#   KEEP_BROKER=1  leave the started broker running at the end
set -euo pipefail

LOADS=${1:-"5000 20000 50000"}
SECONDS_PER_LOAD=${2:-30}
PARTITIONS=${3:-4}
GUARANTEE=${GUARANTEE:-exactly_once}
PROBES_PER_S=${PROBES_PER_S:-20}
STOP_TIMEOUT=60
# Seconds of background traffic (once it flows) before the probe starts.
WARMUP=5

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
DOZVON=${DOZVON:-${CARGO_TARGET_DIR:-$ROOT/target}/release/dozvon}
PROBE=${PROBE:-$(dirname "$DOZVON")/examples/latency}
USAGE="$0 [LOADS [SECONDS [PARTITIONS]]]"
# shellcheck source=scripts/bench-lib.sh
. "$ROOT/scripts/bench-lib.sh"

for arg in $LOADS "$SECONDS_PER_LOAD" "$PARTITIONS" "$PROBES_PER_S"; do
  positive "$arg"
done
require_tools curl awk column
[ -x "$DOZVON" ] || die "no dozvon binary at $DOZVON (cargo build --release, or set DOZVON)"
[ -x "$PROBE" ] || die "no latency probe at $PROBE (cargo build --release --example latency)"

WORK=${BENCH_DIR:-$(mktemp -d /tmp/dozvon-bench-latency.XXXXXX)}
mkdir -p "$WORK"
WORK=$(cd "$WORK" && pwd)
GEN_PID=
stop_traffic() {
  if [ -n "$GEN_PID" ] && alive "$GEN_PID"; then
    kill -TERM "$GEN_PID" 2>/dev/null || true
    wait_exit "$GEN_PID" 30 || kill -KILL "$GEN_PID" 2>/dev/null || true
  fi
  GEN_PID=
}
cleanup() {
  stop_traffic
  bench_cleanup
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

log_machine
log "loads: $LOADS events/s; $SECONDS_PER_LOAD s of $PROBES_PER_S probes/s each;" \
  "$PARTITIONS partitions; $GUARANTEE; [processing] += ${PROCESSING:-(defaults)}"
if [ -n "${BROKERS:-}" ]; then
  log "broker: $BROKERS (not started here)"
else
  start_broker
fi
# The input topics, with a little traffic that the service drains before it is measured.
publish_dataset 20 1 5 "$PARTITIONS"

config=$WORK/latency.toml
run_log=$WORK/latency.log
write_config "$config" bench-latency "$GUARANTEE" bench.latency "${PROCESSING:-}" \
  "${CONSUMER_PROPERTIES:-}" "${PRODUCER_PROPERTIES:-}"
start_service "$config" "$run_log"
address=$(wait_http "$run_log")
wait_input_records "$address" "$PUBLISHED" 120 "$run_log" 0.2
log "dozvon run ready at $address (pid $SERVICE_PID)"

RESULTS=$WORK/results.tsv
printf '%s\t' offered_per_s committed_per_s probes seen p50_ms p90_ms p99_ms max_ms ack_p50 \
  ack_p99 out_p50 out_p99 vis_p50 vis_p99 >"$RESULTS"
printf 'load1\n' >>"$RESULTS"
for load in $LOADS; do
  # Enough generated traffic for the warm-up, the probe and its grace: ~9 events per lead.
  events=$((load * (WARMUP + SECONDS_PER_LOAD + 40)))
  leads_per_day=$((events / 9 / 5 + 1))
  log "load $load events/s: dozvon gen --rate $load (about $events events)"
  RUST_LOG=warn "$DOZVON" gen --brokers "$BROKERS" --rate "$load" \
    --calls-topic bench.calls --leads-topic bench.leads --tenant "load-$load" \
    --days 5 --leads-per-day "$leads_per_day" --managers 40 --seed "$load" \
    >"$WORK/gen-$load.out" 2>"$WORK/gen-$load.log" &
  GEN_PID=$!
  # Warm-up: the traffic flows (generating it takes a while) and has run for WARMUP seconds.
  baseline=$(metric_sum "$address" dozvon_input_records_total)
  deadline=$(($(date +%s) + 120))
  until [ "$(metric_sum "$address" dozvon_input_records_total)" -gt $((baseline + load)) ]; do
    alive "$GEN_PID" || die "dozvon gen stopped early; see $WORK/gen-$load.log"
    [ "$(date +%s)" -lt "$deadline" ] || die "no traffic after 120 s; see $WORK/gen-$load.log"
    sleep 0.5
  done
  sleep "$WARMUP"
  alive "$GEN_PID" || die "dozvon gen stopped early; see $WORK/gen-$load.log"
  before=$(metric_sum "$address" dozvon_input_records_total)
  started=$(now)
  "$PROBE" "$BROKERS" bench.calls bench.latency.qc-reviews "$PROBES_PER_S" "$SECONDS_PER_LOAD" \
    >"$WORK/probe-$load.out" 2>"$WORK/probe-$load.log" ||
    log "  the probe failed: $(tail -1 "$WORK/probe-$load.log")"
  # The probe's window ends when its last review arrived (or its grace ran out).
  after=$(metric_sum "$address" dozvon_input_records_total)
  window=$(elapsed "$started" "$(now)")
  load_now=$(load1)
  curl -sf --max-time 5 "http://$address/metrics" >"$WORK/metrics-$load.txt" || true
  stop_traffic
  line=$(cat "$WORK/probe-$load.out")
  log "  $line"
  field() { sed -n "s/.* $1=\([^ ]*\).*/\1/p" <<<"$line"; }
  printf '%s\t' "$load" \
    "$(awk -v a="$before" -v b="$after" -v w="$window" 'BEGIN { printf "%.0f", (b - a) / w }')" \
    "$(field probes)" "$(field seen)" "$(field p50_ms)" "$(field p90_ms)" "$(field p99_ms)" \
    "$(field max_ms)" "$(field ack_p50_ms)" "$(field ack_p99_ms)" "$(field to_output_p50_ms)" \
    "$(field to_output_p99_ms)" "$(field to_visible_p50_ms)" "$(field to_visible_p99_ms)" \
    >>"$RESULTS"
  printf '%s\n' "$load_now" >>"$RESULTS"
  # Let the service drain what is left before the next load.
  sleep 5
done
stop_service
echo
column -t -s $'\t' "$RESULTS"
