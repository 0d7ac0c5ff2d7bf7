#!/usr/bin/env bash
# Measures how fast a cold `dozvon run` restores its state from the changelog topic
# (docs/restore-bench.md has the method and the results).
#
#   scripts/bench-restore.sh [LEADS_PER_DAY [DAYS [PARTITIONS]]]      (default 10000 10 4)
#
# 1. starts its own Tansu broker (scripts/tansu.sh, memory storage);
# 2. publishes a generated dataset (`dozvon gen --brokers ... --rate 0`);
# 3. runs `dozvon run` until every published record is counted in
#    dozvon_input_records_total, then stops it with SIGTERM (the state is in the changelog);
# 4. RUNS times (default 3): starts a fresh `dozvon run` with the same group (a cold process),
#    times process start -> partitions assigned -> each "task restored" log line -> /readyz 200,
#    and stops it with SIGTERM;
#    then, with TUNED_PROPERTIES set, RUNS more with those librdkafka consumer properties;
# 5. prints a table per run, the per-partition restore lines and the medians.
#
# Environment (all optional):
#   DOZVON           the dozvon binary (default $CARGO_TARGET_DIR/release/dozvon, else
#                    target/release/dozvon; build it with `cargo build --release`)
#   RUNS             cold restarts to measure (default 3)
#   MANAGERS         generated managers (default LEADS_PER_DAY / 40, at least 20)
#   COMMIT_INTERVAL  [processing] commit_interval of the loading run (default 5s)
#   MAX_BATCH        [processing] max_batch of the loading run (default 1000000)
#                    Tansu does not compact, so every commit that touches a lead adds a
#                    changelog record for it: large batches keep the records per lead down
#                    (1.7 at 100k leads, 4.9 at 1M with the defaults). Both go into the cold
#                    runs too.
#   BENCH_DIR        working directory (default a new /tmp/dozvon-bench-restore.XXXXXX); it
#                    keeps the logs, configuration and results (results.tsv, restores.tsv)
#   LOAD_TIMEOUT     seconds for the loading run (default 3600)
#   READY_TIMEOUT    seconds for a cold run to become ready (default 600)
#   TUNED_PROPERTIES TOML lines added to [kafka.consumer_properties] for RUNS more cold
#                    restarts ("tuned-N") after the default ones ("default-N"), e.g.
#                    TUNED_PROPERTIES='"fetch.queue.backoff.ms" = "10"'
#   COMPACT=1        RUNS more cold restarts ("compacted-N") from a copy of the changelog holding
#                    only the latest record of each live key (what Kafka's log cleaner leaves;
#                    Tansu never compacts): examples/compact_changelog.rs, built next to dozvon
#                    with `cargo build --release --example compact_changelog` (or set COMPACTOR)
#   KEEP_BROKER=1    leave the broker running at the end (its address is printed)
set -euo pipefail

LEADS_PER_DAY=${1:-10000}
DAYS=${2:-10}
PARTITIONS=${3:-4}
RUNS=${RUNS:-3}
COMMIT_INTERVAL=${COMMIT_INTERVAL:-5s}
MAX_BATCH=${MAX_BATCH:-1000000}
LOAD_TIMEOUT=${LOAD_TIMEOUT:-3600}
READY_TIMEOUT=${READY_TIMEOUT:-600}
STOP_TIMEOUT=60

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
DOZVON=${DOZVON:-${CARGO_TARGET_DIR:-$ROOT/target}/release/dozvon}
COMPACTOR=${COMPACTOR:-${CARGO_TARGET_DIR:-$ROOT/target}/release/examples/compact_changelog}
USAGE="$0 [LEADS_PER_DAY [DAYS [PARTITIONS]]]"
# shellcheck source=scripts/bench-lib.sh
. "$ROOT/scripts/bench-lib.sh"

for arg in "$LEADS_PER_DAY" "$DAYS" "$PARTITIONS" "$RUNS" "$MAX_BATCH"; do
  positive "$arg"
done
MANAGERS=${MANAGERS:-$((LEADS_PER_DAY / 40 > 20 ? LEADS_PER_DAY / 40 : 20))}
positive "$MANAGERS"
require_tools curl jq awk column getconf
[ -x "$DOZVON" ] || die "no dozvon binary at $DOZVON (cargo build --release, or set DOZVON)"
[ "${COMPACT:-0}" != 1 ] || [ -x "$COMPACTOR" ] ||
  die "no compact_changelog at $COMPACTOR (cargo build --release --example compact_changelog)"

WORK=${BENCH_DIR:-$(mktemp -d /tmp/dozvon-bench-restore.XXXXXX)}
mkdir -p "$WORK"
WORK=$(cd "$WORK" && pwd)
trap bench_cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# ---------------------------------------------------------------------------------------------

log_machine
log "dataset: --leads-per-day $LEADS_PER_DAY --days $DAYS --managers $MANAGERS," \
  "$PARTITIONS partitions; loading with commit_interval=$COMMIT_INTERVAL max_batch=$MAX_BATCH"
log "dozvon: $DOZVON; work dir: $WORK"

start_broker

CONFIG=$WORK/dozvon.toml
write_config "$CONFIG" bench-restore at_least_once bench \
  "commit_interval = \"$COMMIT_INTERVAL\"
max_batch = $MAX_BATCH"

publish_dataset "$LEADS_PER_DAY" "$DAYS" "$MANAGERS" "$PARTITIONS"

# --- load: consume everything once, which writes the changelog ---------------------------------
log "loading: dozvon run until $PUBLISHED input records are counted..."
start_service "$CONFIG" "$WORK/load.log"
load_started=$STARTED_AT
address=$(wait_http "$WORK/load.log")
wait_input_records "$address" "$PUBLISHED" "$LOAD_TIMEOUT" "$WORK/load.log"
LOAD_SECONDS=$(awk -v a="$load_started" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }')
LOAD_RSS=$(peak_rss_mib "$SERVICE_PID")
stop_service
log "loaded in $LOAD_SECONDS s (peak RSS $LOAD_RSS MiB); broker RSS $(rss_mib "$TANSU_PID") MiB"

# --- cold restarts ---------------------------------------------------------------------------
RESULTS=$WORK/results.tsv
RESTORES=$WORK/restores.tsv
printf 'run\tload1\tready_s\tjoin_s\trestore_s\tsum_elapsed_s\tbetween_s\tleads\trecords\tbytes\tleads_per_s\trecords_per_s\tmb_per_s\tleads_per_s_wall\tdozvon_cpu_s\tbusiest_thread_cpu_s\texited_threads_cpu_s\tbroker_cpu_s\tcpu_wait_pct\tpeak_rss_mib\n' >"$RESULTS"
printf 'run\tpartition\tleads\trecords\tbytes\telapsed_ms\tleads_per_s\tfinished_s\n' >"$RESTORES"

# One cold restart with configuration $2, named $1 (LABEL-N): its row goes to $RESULTS, its
# restore lines to $RESTORES.
cold_run() {
  local run=$1 config=$2 run_log=$WORK/cold-$1.log
  local load_before broker_cpu_before pressure_before address deadline polls ready_at pressure
  local dozvon_cpu busiest_cpu live_cpu broker_cpu peak_rss metric_records assigned_ts
  local assigned_at restored last_restored ts partition leads records bytes elapsed_ms finished
  local total_records
  load_before=$(load1)
  log "cold run $run: nproc=$(nproc), load average $(cut -d' ' -f1-3 /proc/loadavg)"
  broker_cpu_before=$(cpu_seconds "$TANSU_PID")
  pressure_before=$(cpu_pressure_us)
  start_service "$config" "$run_log"
  address=$(wait_http "$run_log")
  deadline=$(($(date +%s) + READY_TIMEOUT))
  polls=0
  until [ "$(curl -s -o /dev/null -w '%{http_code}' --max-time 2 "http://$address/readyz")" = 200 ]; do
    alive "$SERVICE_PID" || die "dozvon run exited before it was ready; see $run_log"
    [ "$(date +%s)" -lt "$deadline" ] || die "not ready after ${READY_TIMEOUT}s; see $run_log"
    # Every 10 ms for the first 2 s, then every 50 ms: the polling must not take a core.
    polls=$((polls + 1))
    if [ "$polls" -lt 200 ]; then sleep 0.01; else sleep 0.05; fi
  done
  ready_at=$(now)
  pressure=$(cpu_pressure_us)
  dozvon_cpu=$(cpu_seconds "$SERVICE_PID")
  IFS=$'\t' read -r busiest_cpu live_cpu < <(thread_cpu_seconds "$SERVICE_PID")
  broker_cpu=$(awk -v a="$broker_cpu_before" -v b="$(cpu_seconds "$TANSU_PID")" \
    'BEGIN { printf "%.2f", b - a }')
  peak_rss=$(peak_rss_mib "$SERVICE_PID")
  metric_records=$(metric_sum "$address" dozvon_restored_records_total) || metric_records='?'
  stop_service

  # Log lines: when the partitions were assigned, and one line per restored task.
  assigned_ts=$(jq -Rr 'fromjson? | select(.fields.message == "partitions assigned")
                        | .timestamp' "$run_log" | head -n1)
  [ -n "$assigned_ts" ] || die "no 'partitions assigned' line in $run_log"
  assigned_at=$(epoch "$assigned_ts")
  jq -Rr 'fromjson? | select(.fields.message == "task restored") | [.timestamp,
          .fields.partition, .fields.leads, .fields.records, .fields.bytes, .fields.elapsed_ms]
          | @tsv' "$run_log" >"$WORK/cold-$run.restores"
  restored=$(wc -l <"$WORK/cold-$run.restores")
  [ "$restored" -eq "$PARTITIONS" ] ||
    die "$restored 'task restored' lines in $run_log, expected $PARTITIONS"
  last_restored=0
  while IFS=$'\t' read -r ts partition leads records bytes elapsed_ms; do
    finished=$(awk -v a="$STARTED_AT" -v b="$(epoch "$ts")" 'BEGIN { printf "%.3f", b - a }')
    last_restored=$finished
    awk -v OFS='\t' -v run="$run" -v p="$partition" -v l="$leads" -v r="$records" -v b="$bytes" \
      -v e="$elapsed_ms" -v f="$finished" \
      'BEGIN { print run, p, l, r, b, e, (e > 0 ? sprintf("%.0f", l * 1000 / e) : "-"), f }' \
      >>"$RESTORES"
  done <"$WORK/cold-$run.restores"
  awk -F'\t' -v OFS='\t' -v run="$run" -v load="$load_before" -v start="$STARTED_AT" \
    -v ready="$ready_at" -v assigned="$assigned_at" -v last="$last_restored" \
    -v dcpu="$dozvon_cpu" -v bcpu="$broker_cpu" -v rss="$peak_rss" -v top="$busiest_cpu" \
    -v live="$live_cpu" -v pressure="$((pressure - pressure_before))" '
    $1 == run { leads += $3; records += $4; bytes += $5; elapsed += $6 / 1000 }
    END {
      wall = ready - start
      restore = start + last - assigned
      print run, load, sprintf("%.3f", wall), sprintf("%.3f", assigned - start),
        sprintf("%.3f", start + last - assigned), sprintf("%.3f", elapsed),
        sprintf("%.3f", start + last - assigned - elapsed), leads, records, bytes,
        sprintf("%.0f", leads / restore), sprintf("%.0f", records / restore),
        sprintf("%.1f", bytes / 1e6 / restore), sprintf("%.0f", leads / wall), dcpu, top,
        sprintf("%.2f", dcpu - live), bcpu, sprintf("%.0f", pressure / 1e4 / wall), rss
    }' "$RESTORES" >>"$RESULTS"
  total_records=$(awk -F'\t' -v run="$run" '$1 == run { s += $4 } END { print s }' "$RESTORES")
  [ "$metric_records" = "$total_records" ] ||
    log "  note: dozvon_restored_records_total=$metric_records, log lines say $total_records"
  log "  $(tail -n1 "$RESULTS" | awk -F'\t' '{ printf "ready in %s s (join %s s, restore %s s), %s leads, %s leads/s", $3, $4, $5, $8, $11 }')"
}

for run in $(seq 1 "$RUNS"); do
  cold_run "default-$run" "$CONFIG"
done
if [ "${COMPACT:-0}" = 1 ]; then
  log "compacting the changelog (what Kafka's log cleaner would leave) into bench.changelog-compacted..."
  "$COMPACTOR" "$BROKERS" bench.changelog bench.changelog-compacted >"$WORK/compact.out" \
    2>"$WORK/compact.log" || die "compact_changelog failed; see $WORK/compact.log"
  log "$(cat "$WORK/compact.out")"
  COMPACT_CONFIG=$WORK/dozvon-compacted.toml
  sed 's/^changelog = "bench.changelog"$/changelog = "bench.changelog-compacted"/' "$CONFIG" \
    >"$COMPACT_CONFIG"
  for run in $(seq 1 "$RUNS"); do
    cold_run "compacted-$run" "$COMPACT_CONFIG"
  done
fi
if [ -n "${TUNED_PROPERTIES:-}" ]; then
  TUNED_CONFIG=$WORK/dozvon-tuned.toml
  awk -v extra="$TUNED_PROPERTIES" '{ print } /^\[kafka.consumer_properties\]$/ { print extra }' \
    "$CONFIG" >"$TUNED_CONFIG"
  "$DOZVON" check-config "$TUNED_CONFIG" >/dev/null || die "invalid TUNED_PROPERTIES: $TUNED_PROPERTIES"
  log "tuned: [kafka.consumer_properties] += $TUNED_PROPERTIES"
  for run in $(seq 1 "$RUNS"); do
    cold_run "tuned-$run" "$TUNED_CONFIG"
  done
fi

# --- report ----------------------------------------------------------------------------------
echo
echo "dataset: --leads-per-day $LEADS_PER_DAY --days $DAYS --managers $MANAGERS --partitions" \
  "$PARTITIONS: $CALLS calls + $EVENTS lead events published; loaded in $LOAD_SECONDS s"
echo "machine: nproc=$(nproc); $(uptime | sed 's/^ *//')"
echo
echo "Cold restarts (ready = process start -> /readyz 200; join = start -> partitions assigned;"
echo "restore = assigned -> last task restored; sum_elapsed = sum of the tasks' elapsed_ms;"
echo "between = restore - sum_elapsed, the part of the restore span outside every task's elapsed_ms;"
echo "leads/s, records/s, MB/s over restore (partitions restore side by side); leads/s wall = leads / ready;"
echo "CPU seconds from process start to ready: dozvon, its busiest thread (the processing thread:"
echo "decode + engine restore + polling), its exited threads (the restore consumers' librdkafka"
echo "threads: fetching), the broker; cpu_wait_pct = share of the time some task of the machine"
echo "waited for a CPU (/proc/pressure/cpu), i.e. contention):"
column -t -s $'\t' "$RESULTS"
echo
echo "Per partition (finished_s = seconds after process start):"
column -t -s $'\t' "$RESTORES"
echo
labels=default
[ "${COMPACT:-0}" = 1 ] && labels="$labels compacted"
[ -z "${TUNED_PROPERTIES:-}" ] || labels="$labels tuned"
for label in $labels; do
med() { awk -F'\t' -v c="$1" -v label="$label" 'index($1, label "-") == 1 { print $c }' "$RESULTS" | median; }
echo "$label: medians over $RUNS runs: ready $(med 3) s, join $(med 4) s, restore $(med 5) s" \
  "(tasks $(med 6) s, between $(med 7) s), $(med 8) leads, $(med 9) records ($(med 10) bytes)," \
  "$(med 11) leads/s, $(med 12) records/s, $(med 13) MB/s, wall $(med 14) leads/s;" \
  "dozvon CPU $(med 15) s (busiest thread $(med 16) s, exited threads $(med 17) s)," \
  "broker CPU $(med 18) s, CPU wait $(med 19) %, peak RSS $(med 20) MiB"
done
[ -z "${TUNED_PROPERTIES:-}" ] || echo "tuned = [kafka.consumer_properties] += $TUNED_PROPERTIES"
