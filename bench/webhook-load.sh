#!/usr/bin/env bash
# Load benchmark of `podsec serve` over HTTPS keep-alive on loopback, against a baseline
# (crates/server/examples/baseline.rs: the same axum + hyper + rustls stack answering a
# constant allowed review without decoding or deciding anything).
#
#   bench/webhook-load.sh              # needs oha (cargo install oha --locked) and openssl
#
# What it measures, on 127.0.0.1 only, every run bounded by a request count and a time limit:
#   1. idle RSS of podsec serve once ready (VmRSS from /proc);
#   2. throughput: N_THROUGHPUT requests with CONNECTIONS keep-alive connections, podsec and
#      the baseline taking turns ROUNDS times, the best of each and their ratio, and the
#      servers' CPU time per request. A third server takes its turns too: the baseline with
#      --validate, which checks the body is JSON (serde_json, IgnoredAny) before its constant
#      answer. Its ratio is the ceiling for a webhook that checks its input with serde_json
#      (podsec must refuse malformed reviews with a 400), before it has decoded or decided
#      anything. A fourth, the baseline with --batching, drives hyper as podsec does
#      (crates/server/src/batching.rs: a connection's HTTP/2 streams run on its own task, so
#      answers ready together share a write): its ratio to podsec is what the admission work
#      costs when both do their I/O alike, beside the target's ratio to the minimal server;
#   3. latency at a fixed rate: RATE requests/s for N_RATE requests, p50/p99/max, latency-corrected
#      (each request counts from when it was due). oha's own start (opening its connections, TLS
#      handshakes on both sides) delays the first requests of every run by 30-80 ms, for both
#      servers and even with one connection: a few hundred requests that the API server, which
#      keeps its connections open, never sends. Counted in, they are the slowest 0.2-0.5% of a 30 s
#      run, which makes oha's p99 the steady state's p99.5 or so. So oha records every request
#      (--db-url, SQLite) and the figures are taken over the requests due from WARMUP_S (1) second
#      into the run on; oha's own p99 over the whole run is shown beside them.
#      The two servers take RATE_ROUNDS turns (each a whole N_RATE run), and each line shows the
#      round with the median p99, with every round's p99 beside it: on a shared VM a burst of
#      stolen time lands in one run and not the next (one session saw the constant-answer
#      baseline's own p99 at 7 ms in one run and 0.45 ms in the next), and the median of turns
#      taken alternately is what the servers themselves contribute;
#   4. RSS after the load;
#   5. the share of the machine's CPU time the host stole meanwhile (a VM's steal time): when it
#      is high, every figure above is the host's as much as the servers'.
# It also counts the servers' write system calls per request: each runs the load generator's
# receive path on loopback too. Over HTTP/2 the minimal baseline writes nearly every answer on
# its own (tokio runs the connection's task right after the stream's that woke it), podsec and
# the batching baseline write several answers at once (batching.rs).
# It also counts how often the load generator slept per request. A server slower than the
# generator leaves it idle between answers, and on loopback the wake-up runs in the server's
# send (perf on this VM: about 3 us of podsec's CPU per request, 0.6 us of the baseline's, which
# keeps the generator busy): part of the gap is this effect of sharing the machine, which a
# remote API server would not charge the webhook.
# HALT_POLL_NS measures that effect directly, on a guest whose idle driver is haltpoll (this VM):
# an idle CPU that polls for a while before it halts is woken by a flag, not by an interrupt
# between processors (a VM exit), so the server's send stops paying for the generator's sleep.
# The script sets /sys/module/haltpoll/parameters/guest_halt_poll_ns for the run and puts the
# old value back on exit. On this VM, 200000 raised podsec from 51k to 64k req/s and its ratio
# from 0.50 to 0.55 (CPU per request 19.0 -> 15.2 us): the wake-ups are real cost, but not the
# whole gap.
# The review is bench/review-pod.json: a realistic Deployment pod (init container, sidecar,
# probes, projected token volume, managedFields) in a namespace that enforces baseline and
# audits and warns at restricted, so every request runs all three evaluations and returns a
# warning and two audit annotations.
# By default it is sent compact (no whitespace between tokens, key order kept; about 5.8 KB
# instead of 11.6 KB), generated here from the pretty-printed file: the API server encodes
# webhook requests with Go's encoding/json, which does not indent, so the pretty form makes
# the server read, decrypt and skip twice the bytes a real request has. REVIEW=pretty sends
# the file as it is.
#
# Environment: CONNECTIONS (32), N_THROUGHPUT (100000), ROUNDS (3), RATE (2000), N_RATE (60000),
# RATE_ROUNDS (3), WARMUP_S (1),
# REVIEW (compact; pretty = bench/review-pod.json as it is; or a file, e.g.
# ../shared/scenarios/pss-namespace-rollout/admission-request.json, whose namespace
# bench/namespaces.yaml also holds, sent as it is), HTTP2 (1: HTTP/2 with 4 streams per connection, as
# the API server talks to webhooks; 0 = HTTP/1.1),
# PIN (1: server on CPU 1, load generator on CPU 0, so they do not steal each other's core),
# SKIP_BUILD (0), OHA (oha), HALT_POLL_NS (unset: leave the machine's idle polling as it is).
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
target=${CARGO_TARGET_DIR:-$root/target}
connections=${CONNECTIONS:-32}
n_throughput=${N_THROUGHPUT:-100000}
rate=${RATE:-2000}
n_rate=${N_RATE:-60000}
rate_rounds=${RATE_ROUNDS:-3}
warmup_s=${WARMUP_S:-1}
pin=${PIN:-1}
rounds=${ROUNDS:-3}
oha=${OHA:-oha}
review_arg=${REVIEW:-compact}
http2=() proto=1.1
if [[ ${HTTP2:-1} == 1 ]]; then
  proto=2
  # As the API server talks to webhooks: HTTP/2, several streams per connection.
  http2=(--http2 -p 4)
fi

command -v "$oha" >/dev/null || { echo "oha not found: cargo install oha --locked" >&2; exit 2; }
command -v openssl >/dev/null || { echo "openssl not found" >&2; exit 2; }
command -v python3 >/dev/null || { echo "python3 not found" >&2; exit 2; }

if [[ ${SKIP_BUILD:-0} != 1 ]]; then
  (cd "$root" && cargo build --release --quiet -p podsec-server --example serve --example baseline)
fi
serve=$target/release/examples/serve
baseline=$target/release/examples/baseline

tmp=$(mktemp -d)
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$tmp"
}
trap cleanup EXIT

halt_poll=/sys/module/haltpoll/parameters/guest_halt_poll_ns
halt_poll_note=
if [[ -n ${HALT_POLL_NS:-} ]]; then
  [[ -w $halt_poll ]] || { echo "HALT_POLL_NS needs a writable $halt_poll (a haltpoll guest, as root)" >&2; exit 2; }
  old_halt_poll=$(cat "$halt_poll")
  restore_halt_poll() { echo "$old_halt_poll" > "$halt_poll"; }
  trap 'restore_halt_poll; cleanup' EXIT
  echo "$HALT_POLL_NS" > "$halt_poll"
  halt_poll_note=", idle CPUs poll ${HALT_POLL_NS} ns before halting (was $old_halt_poll)"
fi

pretty_review=$root/bench/review-pod.json
case $review_arg in
  pretty) review=$pretty_review review_name="bench/review-pod.json (pretty-printed, as committed)" ;;
  compact)
    review=$tmp/review-compact.json review_name="bench/review-pod.json compacted (as the API server sends it)"
    # Same document, same key order, no insignificant whitespace (what Go's encoder writes).
    python3 -c 'import json, sys; sys.stdout.write(json.dumps(json.load(open(sys.argv[1])), separators=(",", ":"), ensure_ascii=False))' \
      "$pretty_review" > "$review" ;;
  *) review=$review_arg review_name=${review_arg#"$root/"} ;;
esac

openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=localhost \
  -addext subjectAltName=DNS:localhost,IP:127.0.0.1 \
  -keyout "$tmp/tls.key" -out "$tmp/tls.crt" 2>/dev/null

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
server_cpu=() load_cpu=()
if [[ $pin == 1 ]] && command -v taskset >/dev/null && [[ $(nproc) -ge 2 ]]; then
  server_cpu=(taskset -c 1) load_cpu=(taskset -c 0)
fi

wait_ready() { # wait_ready PORT PATH
  for _ in $(seq 100); do
    if curl -sk --max-time 1 "https://127.0.0.1:$1$2" >/dev/null 2>&1; then return 0; fi
    sleep 0.1
  done
  echo "server on port $1 never answered" >&2
  exit 1
}
rss_kib() { awk '/^VmRSS:/ {print $2}' "/proc/$1/status"; }

run_oha() { # run_oha NAME PORT ARGS... ; writes $tmp/NAME.json, and $tmp/NAME.sleeps: how often
  # the load generator went to sleep (its voluntary context switches, from getrusage). oha's
  # notice that it stores the requests (--db-url) is left out of its messages.
  local name=$1 port=$2
  shift 2
  python3 - "$tmp/$name.sleeps" timeout 120 "${load_cpu[@]}" "$oha" --no-tui --insecure \
    --output-format json "${http2[@]}" "$@" -m POST -H 'content-type: application/json' \
    -D "$review" "https://127.0.0.1:$port/validate" > "$tmp/$name.json" \
    2> >(grep -v '^Storing results to ' >&2) <<'PY'
import resource, subprocess, sys
status = subprocess.call(sys.argv[2:], stdin=subprocess.DEVNULL)
with open(sys.argv[1], "w") as out:
    out.write(str(resource.getrusage(resource.RUSAGE_CHILDREN).ru_nvcsw))
sys.exit(status)
PY
}
summary() { # summary NAME -> "rps p50_ms p99_ms max_ms success_rate"
  python3 - "$tmp/$1.json" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
s, p = d["summary"], d["latencyPercentiles"]
codes = d.get("statusCodeDistribution", {})
print(f'{s["requestsPerSec"]:.0f} {p["p50"]*1e3:.3f} {p["p99"]*1e3:.3f} {s["slowest"]*1e3:.3f} {s["successRate"]:.4f} {json.dumps(codes, separators=(",", ":"))}')
PY
}

cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
# Write system calls so far (writev included), from /proc/PID/io: each sends answers to the load
# generator, and on loopback also runs its receive path.
write_calls() { awk '/^syscw:/ {print $2}' "/proc/$1/io"; }
# The machine's stolen time so far and all its time ("steal total", jiffies over every CPU, from
# /proc/stat): on a VM, time the host gave to others, the main source of noise in these figures.
steal_and_total() { awk '/^cpu / {t = 0; for (i = 2; i <= NF; i++) t += $i; print $9, t}' /proc/stat; }
read -r steal0 total0 < <(steal_and_total)

# Both servers run for the whole benchmark and take turns, so that background load on a shared
# machine hits both alike; each throughput figure is the best of ROUNDS runs. CPU time per
# request (from /proc/PID/stat) is reported too: it does not depend on how much of its core a
# server got, so it is the steadier comparison on a busy machine.
port=$(free_port)
"${server_cpu[@]}" "$serve" --tls-cert-file "$tmp/tls.crt" --tls-private-key-file "$tmp/tls.key" \
  --bind-address 127.0.0.1 --secure-port "$port" --namespaces-file "$root/bench/namespaces.yaml" \
  --log-level warn 2> "$tmp/serve.log" &
serve_pid=$!
pids+=("$serve_pid")
bport=$(free_port)
"${server_cpu[@]}" "$baseline" "$tmp/tls.crt" "$tmp/tls.key" "$bport" 2> "$tmp/baseline.log" &
baseline_pid=$!
pids+=("$baseline_pid")
vport=$(free_port)
"${server_cpu[@]}" "$baseline" "$tmp/tls.crt" "$tmp/tls.key" "$vport" --validate 2> "$tmp/validating.log" &
validating_pid=$!
pids+=("$validating_pid")
sport=$(free_port)
"${server_cpu[@]}" "$baseline" "$tmp/tls.crt" "$tmp/tls.key" "$sport" --batching 2> "$tmp/batching.log" &
batching_pid=$!
pids+=("$batching_pid")
wait_ready "$port" /readyz
wait_ready "$bport" /
wait_ready "$vport" /
wait_ready "$sport" /
# The answer must be the real one (allowed, with the restricted warning), not an error, and
# the review actually sent must get the same answer as the committed file.
answer() { curl -sk -X POST -H 'content-type: application/json' --data-binary @"$1" "https://127.0.0.1:$port/validate"; }
answer "$pretty_review" > "$tmp/answer-pretty.json"
grep -q '"warnings":\["would violate PodSecurity' "$tmp/answer-pretty.json" \
  || { echo "podsec serve did not answer the review as expected" >&2; exit 1; }
if [[ $review_arg == compact ]]; then
  answer "$review" | cmp -s - "$tmp/answer-pretty.json" \
    || { echo "the compact review was not answered as the pretty one" >&2; exit 1; }
fi
sleep 1
idle_rss=$(rss_kib "$serve_pid")

run_oha podsec-warmup "$port" -n 5000 -c "$connections"
run_oha baseline-warmup "$bport" -n 5000 -c "$connections"
run_oha validating-warmup "$vport" -n 5000 -c "$connections"
run_oha batching-warmup "$sport" -n 5000 -c "$connections"
summary validating-warmup | grep -q '{"200":5000}' \
  || { echo "the validating baseline refused the review" >&2; exit 1; }
# And it is the validating server that answers there (ports are picked before the servers bind,
# so two could collide): it refuses a body that is not JSON.
kill -0 "$validating_pid" \
  && [[ $(curl -sk -o /dev/null -w '%{http_code}' -H 'content-type: application/json' -d x \
    "https://127.0.0.1:$vport/validate") == 400 ]] \
  || { echo "the validating baseline is not the server on port $vport" >&2; exit 1; }
best() { # best NAME: the summary line of the round with the highest req/s
  for r in $(seq "$rounds"); do summary "$1-$r"; done | sort -k1,1nr | head -1
}
# And the batching baseline is the one on its port.
grep -q '^batching baseline listening on 127.0.0.1:'"$sport"'$' "$tmp/batching.log" && kill -0 "$batching_pid" \
  || { echo "the batching baseline is not the server on port $sport" >&2; exit 1; }
p_ticks=0 b_ticks=0 v_ticks=0 s_ticks=0
p_writes0=$(write_calls "$serve_pid") b_writes0=$(write_calls "$baseline_pid")
v_writes0=$(write_calls "$validating_pid") s_writes0=$(write_calls "$batching_pid")
throughput_round() { # throughput_round NAME PORT PID ROUND TICKS: adds the server's CPU ticks
  # in the round to the variable named TICKS (in this shell, so that a failed run stops the script)
  local t0 && t0=$(cpu_ticks "$3")
  run_oha "$1-throughput-$4" "$2" -n "$n_throughput" -c "$connections"
  local -n ticks=$5
  ticks=$((ticks + $(cpu_ticks "$3") - t0))
}
for r in $(seq "$rounds"); do
  throughput_round podsec "$port" "$serve_pid" "$r" p_ticks
  throughput_round baseline "$bport" "$baseline_pid" "$r" b_ticks
  throughput_round validating "$vport" "$validating_pid" "$r" v_ticks
  throughput_round batching "$sport" "$batching_pid" "$r" s_ticks
done
p_writes=$(($(write_calls "$serve_pid") - p_writes0))
b_writes=$(($(write_calls "$baseline_pid") - b_writes0))
v_writes=$(($(write_calls "$validating_pid") - v_writes0))
s_writes=$(($(write_calls "$batching_pid") - s_writes0))
for r in $(seq "$rate_rounds"); do
  run_oha "podsec-rate-$r" "$port" -n "$n_rate" -c "$connections" -q "$rate" --latency-correction \
    --db-url "$tmp/podsec-rate-$r.db"
  run_oha "baseline-rate-$r" "$bport" -n "$n_rate" -c "$connections" -q "$rate" --latency-correction \
    --db-url "$tmp/baseline-rate-$r.db"
done
loaded_rss=$(rss_kib "$serve_pid")
kill -TERM "$serve_pid"
wait "$serve_pid" && serve_exit=0 || serve_exit=$?

hz=$(getconf CLK_TCK)
read -r steal1 total1 < <(steal_and_total)
stolen=$(python3 -c "print(f'{100 * ($steal1 - $steal0) / max($total1 - $total0, 1):.1f}')")
read -r p_rps p_p50 p_p99 p_max p_ok p_codes < <(best podsec-throughput)
read -r b_rps b_p50 b_p99 b_max b_ok b_codes < <(best baseline-throughput)
read -r v_rps v_p50 v_p99 v_max v_ok v_codes < <(best validating-throughput)
read -r s_rps s_p50 s_p99 s_max s_ok s_codes < <(best batching-throughput)
steady() { # steady NAME -> "rps p50_ms p99_ms max_ms success_rate codes whole_run_p99_ms":
  # over the requests due from WARMUP_S seconds into the run on (see the header), from oha's
  # record of every request; latency counts from when a request was due, as oha corrects it.
  python3 - "$tmp/$1.db" "$tmp/$1.json" "$warmup_s" <<'PY'
import json, sqlite3, sys
db, summary, warmup = sys.argv[1], json.load(open(sys.argv[2])), float(sys.argv[3])
rows = sqlite3.connect(db).execute("select start_latency_correction, end from oha").fetchall()
first = min(due for due, _ in rows)
lat = sorted(end - due for due, end in rows if due - first >= warmup)
if not lat:
    sys.exit(f"{db}: no request was due after WARMUP_S ({warmup} s): raise N_RATE or lower WARMUP_S")
span = max(due for due, _ in rows) - first - warmup
pct = lambda q: lat[min(len(lat) - 1, int(q * len(lat)))] * 1e3
codes = summary.get("statusCodeDistribution", {})
whole = summary["latencyPercentiles"]["p99"] * 1e3
print(f'{len(lat) / max(span, 1e-9):.0f} {pct(0.5):.3f} {pct(0.99):.3f} {lat[-1] * 1e3:.3f} '
      f'{summary["summary"]["successRate"]:.4f} {json.dumps(codes, separators=(",", ":"))} {whole:.3f}')
PY
}
# Each rate round's steady line, in the order they ran (read from its database once).
for name in podsec baseline; do
  for r in $(seq "$rate_rounds"); do steady "$name-rate-$r"; done > "$tmp/$name-rate.steady"
done
median_p99() { # median_p99 NAME: the steady line of the rate round with the median p99
  sort -k3,3n "$tmp/$1-rate.steady" | sed -n "$(((rate_rounds + 1) / 2))p"
}
all_p99() { # all_p99 NAME: every rate round's steady p99, in the order they ran
  awk '{printf "%s%s", sep, $3; sep=" "}' "$tmp/$1-rate.steady"
}
read -r pr_rps pr_p50 pr_p99 pr_max pr_ok pr_codes pr_whole < <(median_p99 podsec)
read -r br_rps br_p50 br_p99 br_max br_ok br_codes br_whole < <(median_p99 baseline)
ratio=$(python3 -c "print(f'{$p_rps / $b_rps:.2f}')")
v_ratio=$(python3 -c "print(f'{$v_rps / $b_rps:.2f}')")
s_ratio=$(python3 -c "print(f'{$p_rps / $s_rps:.2f}')")
total=$((rounds * n_throughput))
p_us=$(python3 -c "print(f'{$p_ticks / $hz / $total * 1e6:.1f}')")
b_us=$(python3 -c "print(f'{$b_ticks / $hz / $total * 1e6:.1f}')")
v_us=$(python3 -c "print(f'{$v_ticks / $hz / $total * 1e6:.1f}')")
s_us=$(python3 -c "print(f'{$s_ticks / $hz / $total * 1e6:.1f}')")
cpu_ratio=$(python3 -c "print(f'{$b_ticks / max($p_ticks, 1):.2f}')")
s_cpu_ratio=$(python3 -c "print(f'{$s_ticks / max($p_ticks, 1):.2f}')")
per_request() { # per_request COUNT: COUNT over every throughput request
  python3 -c "print(f'{$1 / $total:.3f}')"
}
sleeps_per_request() { # sleeps_per_request NAME: over its throughput rounds
  local sum=0
  for r in $(seq "$rounds"); do sum=$((sum + $(cat "$tmp/$1-throughput-$r.sleeps"))); done
  per_request "$sum"
}

cat <<EOF
podsec serve load benchmark ($(nproc) cores, $(uname -m), pinning: ${server_cpu[*]:-none} / ${load_cpu[*]:-none}$halt_poll_note)
review: $review_name ($(wc -c < "$review") bytes), $connections keep-alive HTTPS connections, HTTP/$proto

throughput (best of $rounds x $n_throughput requests)   req/s     p50 ms   p99 ms   max ms   success  status codes
  podsec serve                       $(printf '%-9s %-8s %-8s %-8s %-8s %s' "$p_rps" "$p_p50" "$p_p99" "$p_max" "$p_ok" "$p_codes")
  baseline                           $(printf '%-9s %-8s %-8s %-8s %-8s %s' "$b_rps" "$b_p50" "$b_p99" "$b_max" "$b_ok" "$b_codes")
  baseline --validate                $(printf '%-9s %-8s %-8s %-8s %-8s %s' "$v_rps" "$v_p50" "$v_p99" "$v_max" "$v_ok" "$v_codes")
  baseline --batching                $(printf '%-9s %-8s %-8s %-8s %-8s %s' "$s_rps" "$s_p50" "$s_p99" "$s_max" "$s_ok" "$s_codes")
  ratio podsec / baseline            $ratio   (target >= 0.7)
  ratio validating / baseline        $v_ratio   (the ceiling of a webhook that validates its input with serde_json)
  ratio podsec / baseline --batching $s_ratio   (both driving hyper alike: the cost of the admission work itself)
  server CPU per request             podsec $p_us us, baseline $b_us us (--validate $v_us us, --batching $s_us us): throughput ratio at equal CPU $cpu_ratio ($s_cpu_ratio against --batching)
  load generator sleeps per request  podsec $(sleeps_per_request podsec), baseline $(sleeps_per_request baseline) (--validate $(sleeps_per_request validating), --batching $(sleeps_per_request batching)): each wakes it again, and on loopback the server's send pays for that
  server writes per request          podsec $(per_request "$p_writes"), baseline $(per_request "$b_writes") (--validate $(per_request "$v_writes"), --batching $(per_request "$s_writes"))
  load average at the end            $(cut -d' ' -f1-3 /proc/loadavg)
  CPU time stolen by the host        $stolen% of the machine's time over the whole benchmark

fixed rate $rate req/s (median p99 of $rate_rounds x $n_rate requests, latency-corrected, from ${warmup_s}s into each run)
  podsec serve                       $(printf '%-9s %-8s %-8s %-8s %-8s %s' "$pr_rps" "$pr_p50" "$pr_p99" "$pr_max" "$pr_ok" "$pr_codes")   (target p99 <= 1 ms; every round: $(all_p99 podsec); whole run: $pr_whole)
  baseline                           $(printf '%-9s %-8s %-8s %-8s %-8s %s' "$br_rps" "$br_p50" "$br_p99" "$br_max" "$br_ok" "$br_codes")   (every round: $(all_p99 baseline); whole run: $br_whole)

podsec serve RSS: idle $((idle_rss / 1024)) MiB ($idle_rss KiB; target <= 30 MB), after load $((loaded_rss / 1024)) MiB
podsec serve exit status after SIGTERM: $serve_exit
EOF
