#!/usr/bin/env bash
# GPU offload (issue 17): decode and prefill with the model's layers on the GPU that
# `setup.sh --cuda` reaches, and with all of them on the CPU, for Anima's engine and for
# llama.cpp's llama-batched-bench (same source, flags, model, threads), in one run. Prints
# each table and the ratios: Anima against llama.cpp on the same device, GPU against CPU.
set -euo pipefail
cd "$(dirname "$0")/.."

cache="${ANIMA_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/anima}"
model="${ANIMA_MODEL:-$cache/models/SmolLM2-135M-Instruct.Q4_1.gguf}"
levels="${LEVELS:-1,4,8,16}"
lengths="${LENGTHS:-128,512,2048}"
ntg="${NTG:-128}"
npp="${NPP:-32}"
threads="${THREADS:-$(nproc)}"
rounds="${ROUNDS:-2}"
for var in ntg npp threads rounds; do
  [[ ${!var} =~ ^[1-9][0-9]{0,5}$ ]] || { echo "bench-gpu: ${var^^}=${!var} is not a whole number from 1 to 999999" >&2; exit 2; }
done
for var in levels lengths; do
  [[ ${!var} =~ ^[1-9][0-9]{0,5}(,[1-9][0-9]{0,5})*$ ]] || { echo "bench-gpu: ${var^^}=${!var} is not a comma-separated list of whole numbers" >&2; exit 2; }
done

[ -f "$(readlink -f "$cache/llama.cpp/current")/lib/libggml-cuda.so" ] \
  || { echo "bench-gpu: no CUDA backend beside llama.cpp; run scripts/setup.sh --cuda" >&2; exit 1; }
bench_bin=$(scripts/llama-tool.sh llama-batched-bench)
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
max=$(tr ',' '\n' <<<"$lengths" | sort -n | tail -1)

# Where the layers went, as Anima's engine planned it.
for layers in 0 auto; do
  flag=(); [ "$layers" = 0 ] && flag=(--gpu-layers 0)
  .build/release/anima-bench decode --concurrency 1 --tokens 4 --prompt-tokens 8 --repetitions 1 "${flag[@]}" | sed -n 1p
done
for round in $(seq "$rounds"); do
  for layers in 0 99; do
    device=$([ "$layers" = 0 ] && echo cpu || echo gpu)
    echo "== round $round/$rounds, $device: llama-batched-bench, anima-bench decode and prefill" >&2
    GGML_CPU_FA_REFERENCE=1 "$bench_bin" -m "$model" -ngl "$layers" -t "$threads" -tb "$threads" \
      -c $(((npp + ntg + 64) * 16)) -b 2048 -ub 512 -fa on -npp "$npp" -ntg "$ntg" -npl "$levels" 2>/dev/null >"$out/ref-decode-$device-$round.txt"
    GGML_CPU_FA_REFERENCE=1 "$bench_bin" -m "$model" -ngl "$layers" -t "$threads" -tb "$threads" \
      -c $((max + 64)) -b 2048 -ub 512 -fa on -npp "$lengths" -ntg 1 -npl 1 2>/dev/null >"$out/ref-prefill-$device-$round.txt"
    .build/release/anima-bench decode --concurrency "$levels" --tokens "$ntg" --prompt-tokens "$npp" --threads "$threads" \
      --gpu-layers "$layers" --repetitions 1 --json >"$out/anima-decode-$device-$round.jsonl"
    .build/release/anima-bench prefill --lengths "$lengths" --threads "$threads" --gpu-layers "$layers" \
      --repetitions 1 --json >"$out/anima-prefill-$device-$round.jsonl"
  done
done

python3 - "$out" "$rounds" <<'PY'
import json, statistics, sys
out, rounds = sys.argv[1], int(sys.argv[2])
def ref(kind, device, key, column):
    rows = {}
    for r in range(1, rounds + 1):
        for line in open(f"{out}/ref-{kind}-{device}-{r}.txt"):
            cols = [c.strip() for c in line.split('|')]
            # |    PP |     TG |    B |   N_KV |   T_PP s | S_PP t/s |   T_TG s | S_TG t/s | ...
            if len(cols) > 8 and cols[1].isdigit():
                rows.setdefault(int(cols[key]), []).append(float(cols[column]))
    return {k: statistics.median(v) for k, v in rows.items()}
def ours(kind, device, key):
    rows = {}
    for r in range(1, rounds + 1):
        for line in open(f"{out}/anima-{kind}-{device}-{r}.jsonl"):
            row = json.loads(line)
            rows.setdefault(int(row[key]), []).append(row["tokens_per_second"])
    return {k: statistics.median(v) for k, v in rows.items()}
for kind, label, key, refkey, column in [("decode", "generations", "concurrency", 3, 8), ("prefill", "prompt tokens", "prompt_tokens", 1, 6)]:
    rc, rg = ref(kind, "cpu", refkey, column), ref(kind, "gpu", refkey, column)
    ac, ag = ours(kind, "cpu", key), ours(kind, "gpu", key)
    print(f"\n{kind} tokens/s, medians of {rounds} rounds (llama.cpp: llama-batched-bench {'S_TG' if kind == 'decode' else 'S_PP'})")
    print(f"{label:>13}  llama.cpp CPU  llama.cpp GPU  anima CPU  anima GPU  anima/llama.cpp GPU  anima GPU/CPU")
    # Anima reports the prompt's exact token count; pair the levels in order.
    for (n, m), a in zip(zip(sorted(ag), sorted(rg)), sorted(ac)):
        print(f"{n:13d} {rc[m]:14.1f} {rg[m]:14.1f} {ac[a]:10.1f} {ag[n]:10.1f} {ag[n] / rg[m]:20.2f} {ag[n] / ac[a]:14.2f}")
PY
