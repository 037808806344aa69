#!/usr/bin/env bash
# Load on the daemon's /v1/chat/completions with the scripted model, from wrk in a
# second process on loopback: requests/s, p50/p99 latency and errors at 1, 16 and 128
# connections, the daemon's peak memory, and its overhead per request against the
# scripted model's own time per request measured in the same run.
set -euo pipefail
cd "$(dirname "$0")/.."
command -v wrk >/dev/null || { sudo_cmd=(); [ "$(id -u)" -eq 0 ] || sudo_cmd=(sudo); "${sudo_cmd[@]}" apt-get install -y -qq wrk >/dev/null; }
anima=.build/release/anima
bench=.build/release/anima-bench
duration="${DURATION:-30s}"
levels="${LEVELS:-1 16 128}"
work=$(mktemp -d)
export XDG_RUNTIME_DIR="$work/run"
token=$("$anima" token create --data-dir "$work/data" --name bench 2>/dev/null)
"$bench" serve --scripted --port 0 --data-dir "$work/data" --slots 255 \
  --requests-per-minute 1000000 --max-concurrent-requests 100000 >"$work/serve.log" 2>&1 &
daemon=$!
trap 'kill $daemon 2>/dev/null; rm -rf "$work"' EXIT
for _ in $(seq 100); do grep -q 'serving' "$work/serve.log" && break; sleep 0.1; done
url=$(grep -o 'http://127.0.0.1:[0-9]*' "$work/serve.log" | head -1)
cat >"$work/post.lua" <<LUA
wrk.method = "POST"
wrk.body = '{"model":"scripted","messages":[{"role":"user","content":"hello"}]}'
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer $token"
done = function(summary, latency, requests)
  io.write(string.format("RESULT %d %.1f %.3f %.3f %d %d\n", summary.requests, summary.requests / (summary.duration / 1e6),
    latency:percentile(50) / 1000, latency:percentile(99) / 1000, summary.errors.status + summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout, summary.errors.status))
end
LUA
echo "== the scripted model alone (in-process, same request)"
model_us=$("$bench" scripted --count 20000 | awk '/p50/ {print $2}')
echo "scripted model p50: ${model_us} us"
echo "== wrk against $url/v1/chat/completions, $duration per level"
printf "%6s %10s %10s %10s %8s %16s\n" conns "req/s" "p50 ms" "p99 ms" errors "p50 overhead ms"
for c in $levels; do
  threads=$(( c < 2 ? c : 2 ))
  out=$(wrk -t"$threads" -c"$c" -d"$duration" --latency -s "$work/post.lua" "$url/v1/chat/completions" | grep RESULT)
  read -r _ n rate p50 p99 errors status <<<"$out"
  overhead=$(python3 -c "print(f'{$p50 - $model_us / 1000:.3f}')")
  printf "%6s %10s %10s %10s %8s %16s\n" "$c" "$rate" "$p50" "$p99" "$errors" "$overhead"
done
echo "daemon peak memory: $(grep VmHWM /proc/$daemon/status | awk '{print $2, $3}')"
