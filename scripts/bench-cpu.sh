#!/usr/bin/env bash
# llama.cpp's CPU code chosen at run time (issue 24, item 6): the variant the engine loads for
# this CPU against the portable AVX2 variant (haswell, what a build for every x86-64 machine
# with AVX2 runs) and the x86-64 baseline (x64), all from the one installed library. Each
# folder holds the library and one variant; the same anima-bench loads it through
# LD_LIBRARY_PATH (the engine loads its CPU code from libllama's folder). Rounds alternate;
# medians of prefill (prompt tokens/s) and decode (generated tokens/s) with ratios at the end.
set -euo pipefail
cd "$(dirname "$0")/.."

cache="${ANIMA_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/anima}"
lengths="${LENGTHS:-128,512,2048}"
concurrency="${CONCURRENCY:-1,8}"
threads="${THREADS:-$(nproc)}"
rounds="${ROUNDS:-3}"
bench=.build/release/anima-bench

lib=$(readlink -f "$cache/llama.cpp/current")/lib
ls "$lib"/libggml-cpu-*.so >/dev/null 2>&1 || { echo "no CPU variants in $lib; run make setup" >&2; exit 1; }
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
variants=(best)
for v in haswell x64; do
  [ -f "$lib/libggml-cpu-$v.so" ] || continue
  mkdir "$out/$v"
  cp -a "$lib"/libllama.so* "$lib"/libggml.so* "$lib"/libggml-base.so* "$lib/libggml-cpu-$v.so" "$out/$v/"
  variants+=("$v")
done
for round in $(seq "$rounds"); do
  echo "== round $round/$rounds" >&2
  for v in "${variants[@]}"; do
    path="$lib"; [ "$v" = best ] || path="$out/$v"
    LD_LIBRARY_PATH="$path" "$bench" prefill --lengths "$lengths" --threads "$threads" --repetitions 1 --json \
      | sed 's/^/prefill /' >>"$out/$v.txt"
    LD_LIBRARY_PATH="$path" "$bench" decode --concurrency "$concurrency" --tokens 128 --threads "$threads" --repetitions 2 --json \
      | sed 's/^/decode /' >>"$out/$v.txt"
  done
done
LD_LIBRARY_PATH="$lib" "$bench" prefill --lengths 16 --repetitions 1 | head -1 | sed 's/.*; CPU code/best: CPU code/'

python3 - "$out" "${variants[@]}" <<'PY'
import json, statistics, sys
out, variants = sys.argv[1], sys.argv[2:]
rates = {}
for v in variants:
    for line in open(f"{out}/{v}.txt"):
        kind, row = line.split(" ", 1)
        row = json.loads(row)
        size = int(row["prompt_tokens"] if kind == "prefill" else row["concurrency"])
        rates.setdefault((kind, size), {}).setdefault(v, []).append(row["tokens_per_second"])
others = [v for v in variants if v != "best"]
print("| measure | " + " | ".join(f"{v} tok/s" for v in variants) + " | " + " | ".join(f"best / {v}" for v in others) + " |")
print("|---" * (1 + len(variants) + len(others)) + "|")
for (kind, size), by in sorted(rates.items()):
    med = {v: statistics.median(by[v]) for v in variants}
    label = f"prefill {size} tokens" if kind == "prefill" else f"decode, {size} sequences"
    print(f"| {label} | " + " | ".join(f"{med[v]:.1f}" for v in variants) + " | "
          + " | ".join(f"**{med['best'] / med[v]:.2f}**" for v in others) + " |")
PY
