#!/usr/bin/env bash
# The OpenAI API against llama.cpp's own llama-server: both built from the same vendored
# source with the same flags, on the same model, threads and parallel slots, driven in
# turn by the same load (scripts/bench_api.py). Prints, per load, the tokens/s ratio,
# time to first token p50/p99 of each, errors, and at the end the peak memory of both.
#
# Environment: ANIMA_MODEL, THREADS, SLOTS, CLIENTS ("1 4 16 64"), TOKENS ("64 256"),
# PROMPTS ("short long shared"), STREAMS ("1 0"), REQUESTS (per client, default 2),
# ROUNDS (default 1; rounds alternate which server goes first), ANIMA_FLAGS (more flags for
# anima serve, e.g. "--policy fifo"; split on spaces).
set -euo pipefail
cd "$(dirname "$0")/.."

cache="${ANIMA_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/anima}"
model="${ANIMA_MODEL:-$cache/models/SmolLM2-135M-Instruct.Q4_1.gguf}"
threads="${THREADS:-$(nproc)}"
slots="${SLOTS:-8}"
context="${CONTEXT:-4096}"  # per slot, Anima's default
clients_levels="${CLIENTS:-1 4 16 64}"
token_levels="${TOKENS:-64 256}"
prompts="${PROMPTS:-short long shared}"
streams="${STREAMS:-1 0}"
requests="${REQUESTS:-2}"
rounds="${ROUNDS:-1}"
anima=.build/release/anima

server_bin=$(scripts/llama-tool.sh llama-server)
[ -x "$anima" ] || { echo "build Anima first: make release" >&2; exit 1; }

work=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$work"; }
trap cleanup EXIT
export XDG_RUNTIME_DIR="$work/run"
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# llama-server: the configuration a user would run, with an API key like Anima's token.
key="bench-$RANDOM$RANDOM"
lport=$(free_port)
"$server_bin" -m "$model" -t "$threads" -tb "$threads" -c $((context * slots)) -np "$slots" -fa on \
  --host 127.0.0.1 --port "$lport" --api-key "$key" >"$work/llama-server.log" 2>&1 &
lpid=$!
pids+=("$lpid")

token=$("$anima" token create --data-dir "$work/data" --name bench 2>/dev/null)
"$anima" serve --port 0 --data-dir "$work/data" --model "$model" --slots "$slots" --context "$context" \
  --requests-per-minute 1000000 --max-concurrent-requests 100000 ${ANIMA_FLAGS:-} >"$work/anima.log" 2>&1 &
apid=$!
pids+=("$apid")

for _ in $(seq 600); do
  curl -sf "http://127.0.0.1:$lport/health" >/dev/null 2>&1 && grep -q 'listening on 127.0.0.1:[0-9]' "$work/anima.log" && break
  sleep 0.2
done
aurl=http://$(grep -o 'listening on 127.0.0.1:[0-9]*' "$work/anima.log" | head -1 | cut -d' ' -f3)
[ -n "$aurl" ] || { echo "anima serve did not start:" >&2; cat "$work/anima.log" >&2; exit 1; }
curl -sf "http://127.0.0.1:$lport/health" >/dev/null || { echo "llama-server did not start:" >&2; cat "$work/llama-server.log" >&2; exit 1; }
echo "llama-server pid $lpid on :$lport, anima pid $apid on $aurl; threads $threads, slots $slots, model $(basename "$model")" >&2

drive() {  # $1 label, $2 url, $3 token, then bench_api.py arguments
  local label=$1 url=$2 tok=$3
  shift 3
  python3 scripts/bench_api.py --label "$label" --url "$url" --token "$tok" --model anima "$@" >>"$work/results.jsonl"
}
offset=0
for round in $(seq "$rounds"); do
  for stream in $streams; do
    for prompt in $prompts; do
      for ntok in $token_levels; do
        for c in $clients_levels; do
          offset=$((offset + 100000))
          args=(--clients "$c" --requests "$requests" --max-tokens "$ntok" --prompt "$prompt" --offset "$offset")
          [ "$stream" = 1 ] && args+=(--stream)
          echo "== round $round: stream=$stream prompt=$prompt tokens=$ntok clients=$c" >&2
          if [ $((round % 2)) = 1 ]; then
            drive llama-server "http://127.0.0.1:$lport" "$key" "${args[@]}"
            drive anima "$aurl" "$token" "${args[@]}"
          else
            drive anima "$aurl" "$token" "${args[@]}"
            drive llama-server "http://127.0.0.1:$lport" "$key" "${args[@]}"
          fi
        done
      done
    done
  done
done
rss() { awk '/VmHWM/ {h=$2} /VmRSS/ {r=$2} END {printf "peak %.0f MiB, now %.0f MiB", h/1024, r/1024}' "/proc/$1/status"; }
echo "memory: llama-server $(rss "$lpid"); anima $(rss "$apid")"

python3 - "$work/results.jsonl" <<'PY'
import json, statistics, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
cells = {}
for r in rows:
    cells.setdefault((r["stream"], r["prompt"], r["max_tokens"], r["clients"]), {}).setdefault(r["server"], []).append(r)
def med(rs, k):
    v = [r[k] for r in rs if r[k] is not None]
    return statistics.median(v) if v else float("nan")
print("medians over rounds; ratio = anima tokens/s / llama-server tokens/s; ttft in ms (non-streamed: whole answer)")
print(f"{'stream':>6} {'prompt':>6} {'tok':>4} {'cli':>4} | {'llama t/s':>9} {'anima t/s':>9} {'ratio':>6} | {'ttft50 L':>8} {'A':>8} | {'ttft99 L':>8} {'A':>8} | err L/A")
for key in sorted(cells, key=lambda k: (not k[0], k[1], k[2], k[3])):
    c = cells[key]
    if "anima" not in c or "llama-server" not in c:
        continue
    L, A = c["llama-server"], c["anima"]
    lt, at = med(L, "tokens_per_second"), med(A, "tokens_per_second")
    print(f"{str(key[0]):>6} {key[1]:>6} {key[2]:>4} {key[3]:>4} | {lt:9.1f} {at:9.1f} {at / lt if lt else float('nan'):6.2f} | "
          f"{med(L, 'ttft_p50_ms'):8.0f} {med(A, 'ttft_p50_ms'):8.0f} | {med(L, 'ttft_p99_ms'):8.0f} {med(A, 'ttft_p99_ms'):8.0f} | "
          f"{sum(r['errors'] for r in L)}/{sum(r['errors'] for r in A)}")
for r in rows:
    if r["errors"]:
        print(f"errors from {r['server']} at {r['clients']} clients: {r['error_samples']}")
PY
