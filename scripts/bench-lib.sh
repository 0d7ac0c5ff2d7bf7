# Shell functions shared by the benchmark runners (scripts/bench-restore.sh, scripts/bench-e2e.sh).
#
# Sourced, not run. The sourcing script sets, before calling the functions that use them:
#   ROOT          the repository root
#   DOZVON        the dozvon binary
#   WORK          the working directory (logs, configuration, results)
#   STOP_TIMEOUT  seconds a SIGTERMed `dozvon run` gets to exit
#   USAGE         the usage line `positive` prints
# and reads what these functions set: SERVICE_PID, STARTED_AT (start_service), BROKERS,
# TANSU_PID, BROKER_DIR, BROKER_STARTED (start_broker), CALLS, EVENTS, PUBLISHED
# (publish_dataset). `bench_cleanup` is meant for `trap bench_cleanup EXIT`.
# shellcheck shell=bash
# Globals set here are read by the sourcing scripts:
# shellcheck disable=SC2034

CLK_TCK=$(getconf CLK_TCK)
SERVICE_PID=
STARTED_AT=
BROKER_STARTED=

log() { printf '%s %s\n' "$(date -u +%H:%M:%S)" "$*" >&2; }
die() {
  log "error: $*"
  exit 1
}

positive() {
  [[ $1 =~ ^[1-9][0-9]*$ ]] || die "expected a positive integer, got '$1'
usage: $USAGE"
}

# Dies unless every named command is on PATH.
require_tools() {
  local tool
  for tool in "$@"; do
    command -v "$tool" >/dev/null || die "$tool is required"
  done
}

now() { date +%s.%N; }

# $2 - $1 (epoch seconds), with $3 decimals (default 3).
elapsed() { awk -v a="$1" -v b="$2" -v d="${3:-3}" 'BEGIN { printf "%.*f\n", d, b - a }'; }

# Whether process $1 runs (an exited child that was not waited for is not running).
alive() {
  local state
  state=$(sed 's/^.*) //' "/proc/$1/stat" 2>/dev/null | cut -d' ' -f1) || return 1
  [ -n "$state" ] && [ "$state" != Z ]
}

# Waits up to $2 seconds for process $1 to exit; its status is returned when it was a child.
wait_exit() {
  local pid=$1 deadline=$(($(date +%s) + $2))
  while alive "$pid"; do
    if [ "$(date +%s)" -ge "$deadline" ]; then
      return 1
    fi
    sleep 0.1
  done
  wait "$pid" 2>/dev/null || return $?
}

# CPU seconds (user + system) process $1 has used so far.
cpu_seconds() {
  awk -v tck="$CLK_TCK" '{ sub(/^.*\) /, ""); printf "%.2f\n", ($12 + $13) / tck }' "/proc/$1/stat"
}

# CPU seconds of the busiest thread of process $1 and of all its live threads together,
# tab-separated.
thread_cpu_seconds() {
  local task
  for task in /proc/"$1"/task/*; do
    sed 's/^.*) //' "$task/stat" 2>/dev/null || true
  done | awk -v tck="$CLK_TCK" '{ t = ($12 + $13) / tck; all += t; if (t > top) top = t }
    END { printf "%.2f\t%.2f\n", top, all }'
}

# CPU seconds (user + system) of this shell's waited-for children so far (bash `times`).
children_cpu_seconds() {
  times | awk 'NR == 2 { t = 0; for (i = 1; i <= 2; i++) { split($i, p, /[ms]/); t += p[1] * 60 + p[2] }
    printf "%.2f\n", t }'
}

# Microseconds that some task waited for a CPU, system-wide (PSI; 0 without it).
cpu_pressure_us() {
  sed -n 's/^some .*total=\([0-9]*\).*/\1/p' /proc/pressure/cpu 2>/dev/null | grep . || echo 0
}

# Peak resident memory of process $1, MiB.
peak_rss_mib() {
  awk '/^VmHWM:/ { printf "%.0f\n", $2 / 1024 }' "/proc/$1/status"
}

# Peak resident memory of process $1, KiB.
peak_rss_kib() {
  awk '/^VmHWM:/ { print $2 }' "/proc/$1/status"
}

# Resident memory of process $1 now, MiB.
rss_mib() {
  awk '/^VmRSS:/ { printf "%.0f\n", $2 / 1024 }' "/proc/$1/status"
}

load1() { cut -d' ' -f1 /proc/loadavg; }

# Samples the resident memory of process $1 every 0.5 s until it exits, appending
# "SECONDS_SINCE_$2<TAB>RSS_MIB" lines to file $3 (run it in the background).
rss_trace() {
  local pid=$1 since=$2 out=$3 kib
  while kib=$(awk '/^VmRSS:/ { print $2 }' "/proc/$pid/status" 2>/dev/null) && [ -n "$kib" ]; do
    awk -v t="$(now)" -v s="$since" -v k="$kib" 'BEGIN { printf "%.1f\t%.0f\n", t - s, k / 1024 }' >>"$out"
    sleep 0.5
  done
}

# The largest sample of an rss_trace file $1: "RSS_MIB at SECONDS s".
rss_trace_peak() {
  awk -F'\t' '$2 + 0 > max { max = $2 + 0; at = $1 } END { printf "%d MiB at %s s", max, at }' "$1"
}

# Logs the machine: cores, uptime and load, memory.
log_machine() {
  log "machine: nproc=$(nproc), $(uptime | sed 's/^ *//')"
  log "memory: $(free -m | awk '/^Mem:/ { print $2 " MiB total, " $7 " MiB available" }')"
}

# The HTTP address `dozvon run` logged (JSON log lines), empty until it did.
http_address() {
  jq -Rr 'fromjson? | select(.fields.message // "" | startswith("http: serving"))
          | .fields.address' "$1" 2>/dev/null | head -n1
}

# Sum of every series of metric $2 at address $1.
metric_sum() {
  curl -sf --max-time 5 "http://$1/metrics" |
    awk -v name="$2" 'index($1, name) == 1 && (length($1) == length(name) ||
      substr($1, length(name) + 1, 1) == "{") { sum += $NF } END { printf "%.0f\n", sum }'
}

# Starts `dozvon run` with configuration $1 and log $2; sets SERVICE_PID and STARTED_AT.
start_service() {
  STARTED_AT=$(now)
  RUST_LOG=${RUST_LOG:-info} DOZVON_LOG_FORMAT=json "$DOZVON" run --config "$1" 2>"$2" &
  SERVICE_PID=$!
}

# Waits for the service's HTTP address (its log $1); prints it.
wait_http() {
  local deadline=$(($(date +%s) + 60)) address
  while :; do
    address=$(http_address "$1")
    [ -n "$address" ] && break
    alive "$SERVICE_PID" || die "dozvon run exited; see $1"
    [ "$(date +%s)" -lt "$deadline" ] || die "dozvon run logged no HTTP address in 60 s; see $1"
    sleep 0.01
  done
  echo "$address"
}

# Polls the service at address $1 until dozvon_input_records_total reaches $2, for at most $3
# seconds (its log $4 is named in errors); every 30 s logs progress and the memory of the
# service and the broker. Polls every $5 seconds (default 1); after the first 5 s at most every
# 0.2 s, so that the polling (a curl per poll) does not compete for the CPU being measured.
wait_input_records() {
  local address=$1 total=$2 deadline=$(($(date +%s) + $3)) run_log=$4 interval=${5:-1}
  local counted last_report fast_until slow
  last_report=$(date +%s)
  fast_until=$((last_report + 5))
  slow=$(awk -v i="$interval" 'BEGIN { print (i < 0.2 ? 0.2 : i) }')
  while :; do
    counted=$(metric_sum "$address" dozvon_input_records_total) || counted=0
    [ "$counted" -ge "$total" ] && break
    alive "$SERVICE_PID" || die "dozvon run exited before counting $total records; see $run_log"
    [ "$(date +%s)" -lt "$deadline" ] ||
      die "timed out after ${3}s ($counted of $total records); see $run_log"
    if [ $(($(date +%s) - last_report)) -ge 30 ]; then
      log "  $counted / $total records, dozvon RSS $(rss_mib "$SERVICE_PID") MiB," \
        "broker RSS $(if [ -n "${TANSU_PID:-}" ]; then rss_mib "$TANSU_PID"; else echo '?'; fi) MiB"
      last_report=$(date +%s)
    fi
    if [ "$(date +%s)" -lt "$fast_until" ]; then sleep "$interval"; else sleep "$slow"; fi
  done
}

# SIGTERM to the service; it must exit 0.
stop_service() {
  local status=0
  kill -TERM "$SERVICE_PID"
  wait_exit "$SERVICE_PID" "$STOP_TIMEOUT" || status=$?
  if alive "$SERVICE_PID"; then
    kill -KILL "$SERVICE_PID" 2>/dev/null || true
    die "dozvon run did not stop within ${STOP_TIMEOUT}s of SIGTERM"
  fi
  SERVICE_PID=
  [ "$status" = 0 ] || die "dozvon run exited with status $status after SIGTERM"
}

# Starts a Tansu broker in $WORK/broker (scripts/tansu.sh, memory storage); sets BROKER_DIR,
# BROKERS and TANSU_PID.
start_broker() {
  BROKER_DIR=$WORK/broker
  mkdir -p "$BROKER_DIR"
  BROKER_STARTED=1
  BROKERS=$("$ROOT/scripts/tansu.sh" start "$BROKER_DIR") || die "the broker did not start"
  TANSU_PID=$(cat "$BROKER_DIR/tansu.pid")
  log "broker: $BROKERS (pid $TANSU_PID)"
}

# Publishes a generated dataset into bench.calls and bench.leads (`dozvon gen --rate 0`):
# $1 leads per day, $2 days, $3 managers, $4 partitions. Sets CALLS, EVENTS, PUBLISHED.
publish_dataset() {
  local started
  log "publishing..."
  started=$(now)
  RUST_LOG=warn "$DOZVON" gen --brokers "$BROKERS" --partitions "$4" --rate 0 \
    --calls-topic bench.calls --leads-topic bench.leads \
    --days "$2" --leads-per-day "$1" --managers "$3" \
    >"$WORK/gen.out" 2>"$WORK/gen.log" || die "dozvon gen failed; see $WORK/gen.log"
  read -r CALLS EVENTS < <(sed -n 's/^published \([0-9]*\) calls and \([0-9]*\) lead events.*/\1 \2/p' \
    "$WORK/gen.out") || true
  [ -n "${CALLS:-}" ] || die "unexpected dozvon gen output: $(cat "$WORK/gen.out")"
  PUBLISHED=$((CALLS + EVENTS))
  log "$(cat "$WORK/gen.out") (wall $(elapsed "$started" "$(now)" 1) s)"
}

# Writes a `dozvon run` configuration to $1: group $2, guarantee $3, output and internal
# topics named $4.violations, $4.qc-reviews, $4.dead-letter, $4.changelog, $4.contacts,
# $4.calls-resolved (inputs bench.calls and bench.leads); $5 (optional) are more lines for
# [processing], $6 for [kafka.consumer_properties], $7 for [kafka.producer_properties]. The generated data is in the past, so an idle partition never
# moves its clock to the wall clock, and every lead stays tracked (none is evicted).
write_config() {
  cat >"$1" <<EOF
[kafka]
brokers = "$BROKERS"
group_id = "$2"

[kafka.topics]
calls = "bench.calls"
leads = "bench.leads"
violations = "$4.violations"
qc_reviews = "$4.qc-reviews"
dead_letter = "$4.dead-letter"
changelog = "$4.changelog"
contacts = "$4.contacts"
resolved = "$4.calls-resolved"

[kafka.consumer_properties]
"session.timeout.ms" = "6000"
"fetch.wait.max.ms" = "5"
${6:-}

[kafka.producer_properties]
${7:-}

[http]
listen = "127.0.0.1:0"

[processing]
guarantee = "$3"
${5:-}
# The data is in the past: an idle partition must not move its clock to the wall clock.
idle_timeout = "1000h"

# Keep every generated lead tracked (none is evicted).
[state]
terminal_retention = "3650d"
idle_retention = "3650d"
EOF
  "$DOZVON" check-config "$1" >/dev/null || die "invalid configuration $1"
}

# Stops a running service and the broker (unless KEEP_BROKER=1); for `trap bench_cleanup EXIT`.
bench_cleanup() {
  local status=$?
  if [ -n "$SERVICE_PID" ] && alive "$SERVICE_PID"; then
    kill -TERM "$SERVICE_PID" 2>/dev/null || true
    wait_exit "$SERVICE_PID" "$STOP_TIMEOUT" || kill -KILL "$SERVICE_PID" 2>/dev/null || true
  fi
  if [ -n "$BROKER_STARTED" ]; then
    if [ "${KEEP_BROKER:-0}" = 1 ]; then
      log "broker left running at $(cat "$BROKER_DIR/tansu.addr" 2>/dev/null || echo '?')" \
        "(scripts/tansu.sh stop $BROKER_DIR)"
    else
      "$ROOT/scripts/tansu.sh" stop "$BROKER_DIR" >/dev/null 2>&1 || true
    fi
  fi
  log "logs and results in $WORK"
  exit "$status"
}

# Epoch seconds of an RFC 3339 timestamp.
epoch() { date -u -d "$1" +%s.%N; }

median() { sort -g | awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2];
  else printf "%.3f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
