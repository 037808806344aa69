#!/usr/bin/env bash
# Agents at the engine's speed (issue 24 item 2): `anima-bench agents` (N agents under the
# kernel, each generating NTG tokens) against llama-batched-bench at the same batch size,
# same model, threads and prompt length (NPP: the agents' own prompts are ~40 tokens; the
# bench prints theirs), rounds alternating, medians and ratios. Two like-for-like pairs:
# the agents' generation phase (tokens after every agent's first token over the time since)
# against S_TG, and their whole run (spawn to last exit, prompts read included) against
# llama-batched-bench's generated tokens over prompt plus generation time.
set -euo pipefail
cd "$(dirname "$0")/.."
cache="${ANIMA_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/anima}"
model="${ANIMA_MODEL:-$cache/models/SmolLM2-135M-Instruct.Q4_1.gguf}"
levels="${LEVELS:-8,16}"
ntg="${NTG:-128}"
npp="${NPP:-40}"
threads="${THREADS:-$(nproc)}"
rounds="${ROUNDS:-3}"
for var in ntg npp rounds; do
  [[ ${!var} =~ ^[1-9][0-9]{0,5}$ ]] || { echo "bench-agents: ${var^^}=${!var} is not a whole number from 1 to 999999" >&2; exit 2; }
done
bench_bin=$(scripts/llama-tool.sh llama-batched-bench)
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
for round in $(seq "$rounds"); do
  echo "== round $round/$rounds" >&2
  # Anima's configuration: a KV stream per sequence, flash attention, batch-invariant kernel.
  GGML_CPU_FA_REFERENCE=1 "$bench_bin" -m "$model" -t "$threads" -tb "$threads" -c $(((npp + ntg + 64) * 16)) \
    -b 2048 -ub 512 -fa on -npp "$npp" -ntg "$ntg" -npl "$levels" 2>/dev/null >"$out/ref-$round.txt"
  .build/release/anima-bench agents --agents "$levels" --tokens "$ntg" --threads "$threads" --no-baseline >"$out/anima-$round.txt"
done
python3 - "$out" "$rounds" <<'PY'
import statistics, sys
out, rounds = sys.argv[1], int(sys.argv[2])
ref, whole, ours, gen, prompts = {}, {}, {}, {}, {}
for r in range(1, rounds + 1):
    for line in open(f"{out}/ref-{r}.txt"):
        cols = [c.strip() for c in line.split('|')]
        if len(cols) > 8 and cols[1].isdigit():
            ref.setdefault(int(cols[3]), []).append(float(cols[8]))
            # generated tokens over prompt and generation time together, as the agents' whole rate is
            whole.setdefault(int(cols[3]), []).append(int(cols[2]) * int(cols[3]) / (float(cols[5]) + float(cols[7])))
    for line in open(f"{out}/anima-{r}.txt"):
        parts = line.split()
        # "N anima tok/s p50 p95 generating G tok/s, prompts P tokens"
        if len(parts) >= 10 and parts[0].isdigit() and parts[1] == "anima":
            n = int(parts[0])
            ours.setdefault(n, []).append(float(parts[2]))
            gen.setdefault(n, []).append(float(parts[6]))
            prompts.setdefault(n, []).append(float(parts[9]))
med = statistics.median
print(f"medians of {rounds} alternating rounds, generated tokens/s; spread = min..max of anima")
print("   N   S_TG   anima generating  /S_TG (goal 0.9)   TG/(T_PP+T_TG)   anima whole   /whole   prompt tokens anima   spread generating")
for n in sorted(ours):
    g, b, a, w = med(gen[n]), med(ref[n]), med(ours[n]), med(whole[n])
    print(f"{n:4d} {b:6.1f} {g:17.1f} {g / b:17.2f} {w:16.1f} {a:13.1f} {a / w:8.2f} {med(prompts[n]):21.1f}   {min(gen[n]):.1f}..{max(gen[n]):.1f}")
PY
