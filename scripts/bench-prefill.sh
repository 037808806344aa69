#!/usr/bin/env bash
# Prompt processing (prefill) against llama.cpp's llama-batched-bench S_PP, built from
# the same source and flags, same model and threads, one sequence, at 128, 512 and 2048
# prompt tokens. The anchor runs twice: with llama.cpp's default attention kernels (what
# llama-server users get) and with GGML_CPU_FA_REFERENCE=1 (Anima's batch-invariant
# kernel). Rounds alternate the three; medians and ratios at the end.
set -euo pipefail
cd "$(dirname "$0")/.."

cache="${ANIMA_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/anima}"
model="${ANIMA_MODEL:-$cache/models/SmolLM2-135M-Instruct.Q4_1.gguf}"
lengths="${LENGTHS:-128,512,2048}"
threads="${THREADS:-$(nproc)}"
rounds="${ROUNDS:-3}"

bench_bin=$(scripts/llama-tool.sh llama-batched-bench)
max=$(tr ',' '\n' <<<"$lengths" | sort -n | tail -1)
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
ref() {  # $1: GGML_CPU_FA_REFERENCE value, $2: output file
  GGML_CPU_FA_REFERENCE=$1 "$bench_bin" -m "$model" -t "$threads" -tb "$threads" -c $((max + 64)) -b 2048 -ub 512 -fa on \
    -npp "$lengths" -ntg 1 -npl 1 2>/dev/null >"$2"
}
for round in $(seq "$rounds"); do
  echo "== round $round/$rounds" >&2
  ref 0 "$out/default-$round.txt"
  .build/release/anima-bench prefill --lengths "$lengths" --threads "$threads" --repetitions 1 --json >"$out/anima-$round.jsonl"
  ref 1 "$out/reference-$round.txt"
done

python3 - "$out" "$rounds" <<'PY'
import json, statistics, sys
out, rounds = sys.argv[1], int(sys.argv[2])
def table(name):
    rows = {}
    for r in range(1, rounds + 1):
        for line in open(f"{out}/{name}-{r}.txt"):
            cols = [c.strip() for c in line.split('|')]
            # |    PP |     TG |    B |   N_KV |   T_PP s | S_PP t/s | ...
            if len(cols) > 6 and cols[1].isdigit():
                rows.setdefault(int(cols[1]), []).append(float(cols[6]))
    return rows
default, reference = table("default"), table("reference")
ours = {}
for r in range(1, rounds + 1):
    for line in open(f"{out}/anima-{r}.jsonl"):
        row = json.loads(line)
        ours.setdefault(int(row["prompt_tokens"]), []).append(row["tokens_per_second"])
print(f"medians of {rounds} alternating rounds (prompt tokens/s)")
print(" prompt  S_PP default  S_PP reference-FA   anima  anima/default  anima/reference")
for (n, a), d in zip(sorted(ours.items()), sorted(default)):
    a, dd, rr = statistics.median(a), statistics.median(default[d]), statistics.median(reference[d])
    print(f"{n:7d} {dd:13.1f} {rr:18.1f} {a:7.1f} {a / dd:14.2f} {a / rr:16.2f}")
PY
