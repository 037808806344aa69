#!/usr/bin/env bash
# Decode throughput: Anima's continuous batching against llama.cpp's own
# llama-batched-bench, built from the same source with the same flags, on the same
# model, threads and batch sizes. Prints both tables and the ratios.
set -euo pipefail
cd "$(dirname "$0")/.."

cache="${ANIMA_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/anima}"
model="${ANIMA_MODEL:-$cache/models/SmolLM2-135M-Instruct.Q4_1.gguf}"
levels="${LEVELS:-1,4,8,16}"
ntg="${NTG:-128}"
npp="${NPP:-32}"
threads="${THREADS:-$(nproc)}"

bench_bin=$(scripts/llama-tool.sh llama-batched-bench)

rounds="${ROUNDS:-3}"
out=$(mktemp -d)
# The machine is noisy: alternate the two, several rounds, and compare medians.
for round in $(seq "$rounds"); do
  echo "== round $round/$rounds: llama-batched-bench (threads $threads, npp $npp, ntg $ntg, npl $levels)" >&2
  # Anima's configuration: a KV stream per sequence, flash attention, batch-invariant kernel.
  GGML_CPU_FA_REFERENCE=1 "$bench_bin" -m "$model" -t "$threads" -tb "$threads" -c $(( (npp + ntg + 64) * 16 )) \
    -b 2048 -ub 512 -fa on -npp "$npp" -ntg "$ntg" -npl "$levels" 2>/dev/null >"$out/ref-$round.txt"
  echo "== round $round/$rounds: anima-bench decode" >&2
  .build/release/anima-bench decode --concurrency "$levels" --tokens "$ntg" --prompt-tokens "$npp" \
    --threads "$threads" --repetitions 1 --json >"$out/anima-$round.jsonl"
done

python3 - "$out" "$rounds" <<'PY'
import json, statistics, sys
out, rounds = sys.argv[1], int(sys.argv[2])
ref, ours = {}, {}
for r in range(1, rounds + 1):
    for line in open(f"{out}/ref-{r}.txt"):
        cols = [c.strip() for c in line.split('|')]
        # |    PP |     TG |    B |   N_KV |   T_PP s | S_PP t/s |   T_TG s | S_TG t/s | ...
        if len(cols) > 8 and cols[1].isdigit():
            ref.setdefault(int(cols[3]), []).append(float(cols[8]))
    for line in open(f"{out}/anima-{r}.jsonl"):
        row = json.loads(line)
        ours.setdefault(int(row["concurrency"]), []).append(row["tokens_per_second"])
print(f"medians of {rounds} alternating rounds (generation tokens/s)")
print("   N   llama-batched-bench S_TG   anima   ratio")
for n in sorted(ours):
    a, b = statistics.median(ours[n]), statistics.median(ref[n])
    print(f"{n:4d} {b:27.1f} {a:7.1f} {a / b:7.2f}")
PY
rm -rf "$out"
