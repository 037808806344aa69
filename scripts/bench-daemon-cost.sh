#!/usr/bin/env bash
# The daemon's own cost (issue 24 item 4): requests/s of the full chat path on the scripted
# model against /bench/fixed-chat, a route of the same daemon that only authenticates,
# parses the body and answers a fixed completion; wrk at 16 connections, the two routes
# alternated for several rounds, same run. Prints each round and the median ratio, and the
# daemon's CPU time and context switches per request on each route (from /proc), which the
# machine's load moves less than requests/s.
set -euo pipefail
cd "$(dirname "$0")/.."
command -v wrk >/dev/null || { sudo_cmd=(); [ "$(id -u)" -eq 0 ] || sudo_cmd=(sudo); "${sudo_cmd[@]}" apt-get install -y -qq wrk >/dev/null; }
anima=.build/release/anima
bench=.build/release/anima-bench
duration="${DURATION:-10s}"
connections="${CONNECTIONS:-16}"
rounds="${ROUNDS:-3}"
work=$(mktemp -d)
export XDG_RUNTIME_DIR="$work/run"
token=$("$anima" token create --data-dir "$work/data" --name bench 2>/dev/null)
"$bench" serve --scripted --port 0 --data-dir "$work/data" --slots 255 \
  --requests-per-minute 1000000 --max-concurrent-requests 100000 >"$work/serve.log" 2>&1 &
daemon=$!
trap 'kill $daemon 2>/dev/null; rm -rf "$work"' EXIT
for _ in $(seq 100); do grep -q 'listening on 127.0.0.1:[0-9]' "$work/serve.log" && break; sleep 0.1; done
url=http://$(grep -o 'listening on 127.0.0.1:[0-9]*' "$work/serve.log" | head -1 | cut -d' ' -f3)
cat >"$work/post.lua" <<LUA
wrk.method = "POST"
wrk.body = '{"model":"scripted","messages":[{"role":"user","content":"hello"}]}'
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer $token"
done = function(summary, latency, requests)
  io.write(string.format("RESULT %.1f %.3f %d %d\n", summary.requests / (summary.duration / 1e6), latency:percentile(50) / 1000,
    summary.errors.status + summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout,
    summary.requests))
end
LUA
hz=$(getconf CLK_TCK)
# The daemon's CPU ticks (user + system) and context switches, all threads.
usage() {
  local switches=0
  for t in /proc/$daemon/task/*; do switches=$((switches + $(awk '/ctxt_switches/ {s += $2} END {print s}' "$t/status" 2>/dev/null || echo 0))); done
  echo "$(awk '{print $14 + $15}' /proc/$daemon/stat) $switches"
}
# Prints: requests/s, p50 ms, errors, CPU µs per request, context switches per request.
run() {
  local before after
  before=$(usage)
  local out; out=$(wrk -t2 -c"$connections" -d"$duration" -s "$work/post.lua" "$url$1" | awk '/^RESULT/ {print $2, $3, $4, $5}')
  after=$(usage)
  python3 -c "
rps, p50, errors, n = '$out'.split(); b = '$before'.split(); a = '$after'.split(); n = max(int(n), 1)
print(rps, p50, errors, f'{(int(a[0]) - int(b[0])) * 1e6 / $hz / n:.0f}', f'{(int(a[1]) - int(b[1])) / n:.2f}')"
}
run /v1/chat/completions >/dev/null  # warm-up
printf "%5s %14s %14s %7s %10s   (req/s, p50 ms, errors, CPU µs/request, context switches/request)\n" round "fixed answer" "full chat" ratio "CPU ratio"
ratios=()
cpu_ratios=()
for r in $(seq "$rounds"); do
  if [ $((r % 2)) = 1 ]; then fixed=$(run /bench/fixed-chat); full=$(run /v1/chat/completions)
  else full=$(run /v1/chat/completions); fixed=$(run /bench/fixed-chat); fi
  ratio=$(python3 -c "print(f'{${full%% *} / ${fixed%% *}:.2f}')")
  # The same ratio in CPU: the fixed route's CPU per request over the full path's.
  cpu_ratio=$(python3 -c "f = '$fixed'.split(); c = '$full'.split(); print(f'{float(f[3]) / max(float(c[3]), 1):.2f}')")
  ratios+=("$ratio")
  cpu_ratios+=("$cpu_ratio")
  printf "%5s %14s %14s %7s %10s   fixed: %s, full: %s\n" "$r" "${fixed%% *}" "${full%% *}" "$ratio" "$cpu_ratio" "$fixed" "$full"
done
median() { printf '%s\n' "$@" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
echo "median ratio full / fixed at $connections connections: $(median "${ratios[@]}") (CPU per request, fixed / full: $(median "${cpu_ratios[@]}"))"
echo "daemon peak memory: $(grep VmHWM /proc/$daemon/status | awk '{print $2, $3}')"
