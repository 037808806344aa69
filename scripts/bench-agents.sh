#!/usr/bin/env bash
# Agents at the engine's speed (issue 24 item 2): `anima-bench agents` (N agents under the
# kernel, each generating NTG tokens) against llama-batched-bench's S_TG at the same batch
# size, same model and threads, rounds alternating, medians and ratios. The agents' rate
# counts the time to read their prompts, so the anchor is given both ways: S_TG, and
# generated tokens over prompt plus generation time.
set -euo pipefail
cd "$(dirname "$0")/.."
cache="${ANIMA_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/anima}"
model="${ANIMA_MODEL:-$cache/models/SmolLM2-135M-Instruct.Q4_1.gguf}"
levels="${LEVELS:-8,16}"
ntg="${NTG:-128}"
threads="${THREADS:-$(nproc)}"
rounds="${ROUNDS:-3}"
bench_bin=$(scripts/llama-tool.sh llama-batched-bench)
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
for round in $(seq "$rounds"); do
  echo "== round $round/$rounds" >&2
  # Anima's configuration: a KV stream per sequence, flash attention, batch-invariant kernel.
  GGML_CPU_FA_REFERENCE=1 "$bench_bin" -m "$model" -t "$threads" -tb "$threads" -c $(((32 + ntg + 64) * 16)) \
    -b 2048 -ub 512 -fa on -npp 32 -ntg "$ntg" -npl "$levels" 2>/dev/null >"$out/ref-$round.txt"
  .build/release/anima-bench agents --agents "$levels" --tokens "$ntg" --threads "$threads" --no-baseline >"$out/anima-$round.txt"
done
python3 - "$out" "$rounds" <<'PY'
import statistics, sys
out, rounds = sys.argv[1], int(sys.argv[2])
ref, whole, ours = {}, {}, {}
for r in range(1, rounds + 1):
    for line in open(f"{out}/ref-{r}.txt"):
        cols = [c.strip() for c in line.split('|')]
        if len(cols) > 8 and cols[1].isdigit():
            ref.setdefault(int(cols[3]), []).append(float(cols[8]))
            # generated tokens over prompt and generation time together, as the agents' rate is
            whole.setdefault(int(cols[3]), []).append(int(cols[2]) * int(cols[3]) / (float(cols[5]) + float(cols[7])))
    for line in open(f"{out}/anima-{r}.txt"):
        parts = line.split()
        if len(parts) >= 3 and parts[0].isdigit() and parts[1] == "anima":
            ours.setdefault(int(parts[0]), []).append(float(parts[2]))
print(f"medians of {rounds} alternating rounds (generated tokens/s); spread = min..max of anima")
print("   N   S_TG   TG/(T_PP+T_TG)   anima agents   /S_TG   /with-prefill   anima spread")
for n in sorted(ours):
    a, b, w = statistics.median(ours[n]), statistics.median(ref[n]), statistics.median(whole[n])
    print(f"{n:4d} {b:6.1f} {w:16.1f} {a:14.1f} {a / b:7.2f} {a / w:15.2f}   {min(ours[n]):.1f}..{max(ours[n]):.1f}")
PY
