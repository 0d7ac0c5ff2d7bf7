#!/usr/bin/env bash
# End-to-end benchmark (issue 6, item 1): `dozvon run` draining a backlog from a real broker,
# against the raw-consume ceiling of the same broker (BENCHMARKS.md has the method and results).
#
#   scripts/bench-e2e.sh [LEADS_PER_DAY [DAYS [PARTITIONS]]]          (default 10000 10 4)
#
# 1. starts its own Tansu broker (scripts/tansu.sh, memory storage), or uses BROKERS;
# 2. publishes a generated backlog once into bench.calls and bench.leads
#    (`dozvon gen --brokers ... --rate 0`; about 9 events per lead);
# 3. RUNS times (default 3):
#    (a) the ceiling: examples/ceiling.rs, a plain rdkafka consumer that reads both topics
#        (read_committed, every partition from the beginning) and discards every record;
#    (b) `dozvon run` under exactly_once, then under at_least_once, each with a fresh group and
#        fresh output and changelog topics (bench.e2e-STAMP-RUN-GUARANTEE.*), timed from process
#        start until dozvon_input_records_total counts every published record (/metrics
#        polled every 50 ms, every 200 ms after 5 s); then, after one state-gauge refresh
#        cycle (6 s), dozvon_leads_tracked and the peak RSS are read, its /metrics saved
#        (WORK/TAG.metrics; the log lines after the row say how long it spent committing, its
#        RSS when drained and the largest of its RSS samples, taken every 0.5 s into
#        WORK/TAG.rss) and it is stopped;
# 4. prints a row per run, the medians per kind and the ratios (b)/(a).
#
# Figures per row: wall_s (process start -> everything read: the ceiling's exit, dozvon's
# counter reaching the total), read_s (ceiling: its consumer's creation -> the last partition
# EOF; dozvon: "partitions assigned" log line -> counted), events/s over each, CPU seconds of
# the process and of the broker over wall_s, CPU seconds per million events, peak RSS, leads
# tracked and peak RSS bytes per tracked lead (dozvon only).
#
# Latency at fixed offered loads (item 1c) is scripts/bench-latency.sh.
#
# Environment (all optional):
#   DOZVON           the dozvon binary (default $CARGO_TARGET_DIR/release/dozvon, else
#                    target/release/dozvon; `cargo build --release`)
#   CEILING          the ceiling consumer (default next to dozvon: release/examples/ceiling;
#                    `cargo build --release --example ceiling`)
#   RUNS             repetitions (default 3)
#   MANAGERS         generated managers (default LEADS_PER_DAY / 40, at least 20)
#   PROCESSING       TOML lines added to [processing] of every dozvon run, e.g.
#                    PROCESSING='commit_interval = "1s"' (the defaults otherwise)
#   CONSUMER_PROPERTIES  TOML lines added to [kafka.consumer_properties] of every dozvon run,
#                    e.g. CONSUMER_PROPERTIES='"fetch.queue.backoff.ms" = "10"'
#   BROKERS          an existing Kafka to use instead of starting Tansu (its bench.calls and
#                    bench.leads must not exist yet); broker CPU is then not measured
#   PUBLISHED        with BROKERS: the backlog is already there (an earlier run's KEEP_BROKER=1
#                    broker; this many records in bench.calls + bench.leads): nothing is
#                    published, so two builds can be compared on the same data
#   GUARANTEES       which (b) runs (default "exactly_once at_least_once")
#   BENCH_DIR        working directory (default a new /tmp/dozvon-bench-e2e.XXXXXX); it keeps
#                    the logs, configurations and results.tsv
#   DRAIN_TIMEOUT    seconds one dozvon run may take to count everything (default 3600)
#   KEEP_BROKER=1    leave the started broker running at the end (its address is printed)
set -euo pipefail

LEADS_PER_DAY=${1:-10000}
DAYS=${2:-10}
PARTITIONS=${3:-4}
RUNS=${RUNS:-3}
DRAIN_TIMEOUT=${DRAIN_TIMEOUT:-3600}
STOP_TIMEOUT=60
# One full dozvon_leads_tracked refresh cycle (src/service/processor.rs STATE_REFRESH) + 1 s.
SETTLE=6
# Names this invocation's groups and topics apart from an earlier one's on the same broker.
STAMP=$(date -u +%H%M%S)
GUARANTEES=${GUARANTEES:-"exactly_once at_least_once"}

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
DOZVON=${DOZVON:-${CARGO_TARGET_DIR:-$ROOT/target}/release/dozvon}
CEILING=${CEILING:-$(dirname "$DOZVON")/examples/ceiling}
USAGE="$0 [LEADS_PER_DAY [DAYS [PARTITIONS]]]"
# shellcheck source=scripts/bench-lib.sh
. "$ROOT/scripts/bench-lib.sh"

for arg in "$LEADS_PER_DAY" "$DAYS" "$PARTITIONS" "$RUNS"; do
  positive "$arg"
done
MANAGERS=${MANAGERS:-$((LEADS_PER_DAY / 40 > 20 ? LEADS_PER_DAY / 40 : 20))}
positive "$MANAGERS"
require_tools curl jq awk column getconf /usr/bin/time
[ -x "$DOZVON" ] || die "no dozvon binary at $DOZVON (cargo build --release, or set DOZVON)"
[ -x "$CEILING" ] || die "no ceiling consumer at $CEILING (cargo build --release --example ceiling)"

WORK=${BENCH_DIR:-$(mktemp -d /tmp/dozvon-bench-e2e.XXXXXX)}
mkdir -p "$WORK"
WORK=$(cd "$WORK" && pwd)
trap bench_cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# CPU seconds of the broker so far; 0 when it is not ours.
broker_cpu() { if [ -n "${TANSU_PID:-}" ]; then cpu_seconds "$TANSU_PID"; else echo 0; fi; }

# ---------------------------------------------------------------------------------------------

log_machine
log "dataset: --leads-per-day $LEADS_PER_DAY --days $DAYS --managers $MANAGERS," \
  "$PARTITIONS partitions; $RUNS runs; [processing] += ${PROCESSING:-(defaults)};" \
  "[kafka.consumer_properties] += ${CONSUMER_PROPERTIES:-(nothing)}"
log "dozvon: $DOZVON; ceiling: $CEILING; work dir: $WORK"

if [ -n "${BROKERS:-}" ]; then
  log "broker: $BROKERS (not started here; its CPU is not measured)"
  TANSU_PID=
else
  start_broker
fi
if [ -n "${PUBLISHED:-}" ]; then
  [ -n "${BROKERS:-}" ] || die "PUBLISHED needs BROKERS (the broker that holds the backlog)"
  positive "$PUBLISHED"
  log "backlog: $PUBLISHED records already in bench.calls and bench.leads (not published)"
  CALLS='?' EVENTS='?'
else
  publish_dataset "$LEADS_PER_DAY" "$DAYS" "$MANAGERS" "$PARTITIONS"
fi

RESULTS=$WORK/results.tsv
printf 'run\tkind\tload1\twall_s\tread_s\trecords\tevents_per_s\tevents_per_s_read\tcpu_s\tbroker_cpu_s\tcpu_s_per_M\tpeak_rss_mib\tleads_tracked\trss_bytes_per_lead\n' >"$RESULTS"

# (a) The ceiling consumer over both input topics, run $1.
ceiling_run() {
  local run=$1 load broker_before out records seconds wall user sys max_kib
  load=$(load1)
  broker_before=$(broker_cpu)
  out=$WORK/ceiling-$run.out
  /usr/bin/time -f '%e %U %S %M' -o "$WORK/ceiling-$run.time" \
    "$CEILING" "$BROKERS" bench.calls bench.leads >"$out" 2>"$WORK/ceiling-$run.log" ||
    die "the ceiling consumer failed; see $WORK/ceiling-$run.log"
  records=$(sed -n 's/.* records=\([0-9]*\) .*/\1/p' "$out")
  seconds=$(sed -n 's/.* seconds=\([0-9.]*\) .*/\1/p' "$out")
  { [ -n "$records" ] && [ -n "$seconds" ]; } || die "unexpected ceiling output: $(cat "$out")"
  [ "$records" = "$PUBLISHED" ] ||
    log "  note: the ceiling read $records records, $PUBLISHED were published"
  read -r wall user sys max_kib <"$WORK/ceiling-$run.time"
  awk -v OFS='\t' -v run="$run" -v load="$load" -v wall="$wall" -v read_s="$seconds" \
    -v n="$records" -v cpu="$(awk -v u="$user" -v s="$sys" 'BEGIN { print u + s }')" \
    -v bcpu="$(elapsed "$broker_before" "$(broker_cpu)" 2)" -v kib="$max_kib" 'BEGIN {
      print run, "ceiling", load, sprintf("%.3f", wall), sprintf("%.3f", read_s), n,
        sprintf("%.0f", n / wall), sprintf("%.0f", n / read_s), sprintf("%.2f", cpu), bcpu,
        sprintf("%.2f", cpu * 1e6 / n), sprintf("%.0f", kib / 1024), "-", "-"
    }' >>"$RESULTS"
  log "  ceiling $run: $(cat "$out") (process wall $wall s)"
}

# (b) `dozvon run` under guarantee $2 draining the backlog, run $1.
drain_run() {
  local run=$1 guarantee=$2 tag config run_log load broker_before address done_at cpu
  local broker_used leads kib assigned_ts assigned_at rss_drained
  tag=e2e-$STAMP-$run-${guarantee//_/-}
  config=$WORK/$tag.toml
  run_log=$WORK/$tag.log
  write_config "$config" "bench-$tag" "$guarantee" "bench.$tag" "${PROCESSING:-}" \
    "${CONSUMER_PROPERTIES:-}"
  load=$(load1)
  broker_before=$(broker_cpu)
  start_service "$config" "$run_log"
  rss_trace "$SERVICE_PID" "$STARTED_AT" "$WORK/$tag.rss" &
  address=$(wait_http "$run_log")
  wait_input_records "$address" "$PUBLISHED" "$DRAIN_TIMEOUT" "$run_log" 0.05
  done_at=$(now)
  rss_drained=$(rss_mib "$SERVICE_PID")
  cpu=$(cpu_seconds "$SERVICE_PID")
  broker_used=$(elapsed "$broker_before" "$(broker_cpu)" 2)
  sleep "$SETTLE"
  leads=$(metric_sum "$address" dozvon_leads_tracked) || leads=0
  kib=$(peak_rss_kib "$SERVICE_PID")
  curl -sf --max-time 5 "http://$address/metrics" >"$WORK/$tag.metrics" || true
  stop_service
  assigned_ts=$(jq -Rr 'fromjson? | select(.fields.message == "partitions assigned")
                        | .timestamp' "$run_log" | head -n1)
  [ -n "$assigned_ts" ] || die "no 'partitions assigned' line in $run_log"
  assigned_at=$(epoch "$assigned_ts")
  awk -v OFS='\t' -v run="$run" -v kind="$guarantee" -v load="$load" -v start="$STARTED_AT" \
    -v assigned="$assigned_at" -v done_at="$done_at" -v n="$PUBLISHED" -v cpu="$cpu" \
    -v bcpu="$broker_used" -v kib="$kib" -v leads="$leads" 'BEGIN {
      wall = done_at - start; read_s = done_at - assigned
      print run, kind, load, sprintf("%.3f", wall), sprintf("%.3f", read_s), n,
        sprintf("%.0f", n / wall), sprintf("%.0f", n / read_s), cpu, bcpu,
        sprintf("%.2f", cpu * 1e6 / n), sprintf("%.0f", kib / 1024), leads,
        (leads > 0 ? sprintf("%.0f", kib * 1024 / leads) : "-")
    }' >>"$RESULTS"
  log "  $guarantee $run: $(tail -n1 "$RESULTS" | awk -F'\t' '{ printf "%s events in %s s (%s events/s; %s events/s after assignment), CPU %s s, peak RSS %s MiB, %s leads tracked", $6, $4, $7, $8, $9, $12, $13 }')"
  # Whether the peak is the state itself or a transient (WORK/TAG.rss: RSS every 0.5 s).
  log "  $guarantee $run: RSS $rss_drained MiB when drained ($(awk -v d="$done_at" \
    -v s="$STARTED_AT" 'BEGIN { printf "%.1f", d - s }') s); largest sample" \
    "$(rss_trace_peak "$WORK/$tag.rss") (WORK/$tag.rss)"
  # The processing thread waits while a batch commits: how much of the drain that was.
  log "  $guarantee $run: $(awk -v wall="$(tail -n1 "$RESULTS" | cut -f5)" '
    /^dozvon_commit_duration_seconds_sum/ { sum = $2 }
    /^dozvon_commit_duration_seconds_count/ { count = $2 }
    END { if (count > 0) printf "%d commits, %.1f s in commits (%.0f %% of the drain after assignment, %.0f ms each)", count, sum, 100 * sum / wall, 1000 * sum / count }' "$WORK/$tag.metrics" 2>/dev/null)"
}

for run in $(seq 1 "$RUNS"); do
  log "run $run: nproc=$(nproc), load average $(cut -d' ' -f1-3 /proc/loadavg)"
  ceiling_run "$run"
  for guarantee in $GUARANTEES; do
    drain_run "$run" "$guarantee"
  done
done

# --- report ----------------------------------------------------------------------------------
med() { awk -F'\t' -v c="$2" -v kind="$1" '$2 == kind { print $c }' "$RESULTS" | median; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", (b > 0 ? a / b : 0) }'; }

echo
echo "dataset: --leads-per-day $LEADS_PER_DAY --days $DAYS --managers $MANAGERS --partitions" \
  "$PARTITIONS: $CALLS calls + $EVENTS lead events = $PUBLISHED records published"
echo "machine: nproc=$(nproc); $(uptime | sed 's/^ *//')"
echo "dozvon [processing] += ${PROCESSING:-(defaults)};" \
  "[kafka.consumer_properties] += ${CONSUMER_PROPERTIES:-(nothing)}"
echo
echo "Runs (wall = process start -> everything read; read = ceiling: consumer created -> last EOF,"
echo "dozvon: partitions assigned -> counted; events/s over each; CPU seconds over wall; peak RSS;"
echo "rss_bytes_per_lead = peak RSS / dozvon_leads_tracked):"
column -t -s $'\t' "$RESULTS"
echo
echo "Medians over $RUNS runs:"
{
  printf 'kind\twall_s\tread_s\tevents_per_s\tevents_per_s_read\tcpu_s\tbroker_cpu_s\tcpu_s_per_M\tpeak_rss_mib\tleads_tracked\trss_bytes_per_lead\n'
  for kind in ceiling $GUARANTEES; do
    if [ "$kind" = ceiling ]; then extra='-\t-'; else extra="$(med "$kind" 13)\t$(med "$kind" 14)"; fi
    printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%b\n' "$kind" "$(med "$kind" 4)" "$(med "$kind" 5)" \
      "$(med "$kind" 7)" "$(med "$kind" 8)" "$(med "$kind" 9)" "$(med "$kind" 10)" \
      "$(med "$kind" 11)" "$(med "$kind" 12)" "$extra"
  done
} | column -t -s $'\t'
echo
for kind in $GUARANTEES; do
  target=0.8
  [ "$kind" = exactly_once ] && target=0.6
  echo "$kind / ceiling (medians): $(ratio "$(med "$kind" 7)" "$(med ceiling 7)") over wall," \
    "$(ratio "$(med "$kind" 8)" "$(med ceiling 8)") over read (issue 6 target >= $target)"
done
