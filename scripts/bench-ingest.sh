#!/usr/bin/env bash
# Bulk memory import (issue 24, item 5) against llama.cpp's own llama-embedding, built from the
# same source and flags, on the same sentences, embedding model (all-MiniLM-L6-v2) and threads.
# Rounds alternate: llama-embedding over the sentence file (its time is the run's wall time
# less that of a run over the first sentence alone, so starting and loading the model do not
# count against it), then
# `anima-bench memory import --sentences FILE` (JSONL lines read as passages, the kernel's audited
# insert, embeddings per batch, one transaction per batch, into a fresh data directory; it also
# times Anima's embedder alone). Medians of sentences/s and ratios at the end.
set -euo pipefail
cd "$(dirname "$0")/.."

cache="${ANIMA_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/anima}"
model="${EMBEDDING_MODEL:-$cache/models/all-MiniLM-L6-v2.F16.gguf}"
count="${COUNT:-2000}"
threads="${THREADS:-$(nproc)}"
rounds="${ROUNDS:-3}"
batch="${BATCH:-512}"  # llama-embedding's tokens per batch: the model's trained context (2048 was slower)

embedding=$(scripts/llama-tool.sh llama-embedding)
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
# Sentences of varied words and length, about as long as chat turns, one per line.
python3 - "$count" >"$out/sentences.txt" <<'PY'
import random, sys
r = random.Random(18)
subjects = ["Ada", "my sister", "the landlord", "our team", "the dentist", "Grandpa", "the new manager", "Lena"]
verbs = ["moved to", "booked a table in", "wrote about", "asked about", "visited", "complained about", "painted"]
objects = ["Porto", "the blue flat on the hill", "a quiet bakery", "the budget for next spring", "an old sailing boat",
           "the garden behind the library", "a theremin concert", "the broken heating"]
tails = ["last Tuesday", "before the holidays", "because the rent went up", "with two friends", "in the rain", ""]
for i in range(int(sys.argv[1])):
    words = [r.choice(subjects), r.choice(verbs), r.choice(objects), r.choice(tails)]
    print(" ".join(w for w in words if w) + f" (note {i}).")
PY
head -1 "$out/sentences.txt" >"$out/one.txt"
embed() {  # $1: sentence file; prints the vectors, one per line
  "$embedding" -m "$model" -f "$1" -t "$threads" -tb "$threads" -c "$batch" -b "$batch" -ub "$batch" \
    --embd-output-format raw 2>/dev/null | grep -c .
}
now() { date +%s.%N; }
for round in $(seq "$rounds"); do
  echo "== round $round/$rounds" >&2
  t0=$(now); embed "$out/one.txt" >/dev/null; t1=$(now)
  vectors=$(embed "$out/sentences.txt"); t2=$(now)
  [ "$vectors" -eq "$count" ] || { echo "llama-embedding wrote $vectors vectors, not $count" >&2; exit 1; }
  echo "$t0 $t1 $t2" >"$out/llama-$round.txt"
  .build/release/anima-bench memory import --sentences "$out/sentences.txt" --threads "$threads" --rounds 1 \
    | head -1 >"$out/anima-$round.json"
done

python3 - "$out" "$rounds" "$count" <<'PY'
import json, statistics, sys
out, rounds, count = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
llama, embedder, imported = [], [], []
for r in range(1, rounds + 1):
    t0, t1, t2 = map(float, open(f"{out}/llama-{r}.txt").read().split())
    llama.append((count - 1) / ((t2 - t1) - (t1 - t0)))
    row = json.load(open(f"{out}/anima-{r}.json"))
    embedder.append(row["embedder_per_second"])
    imported.append(row["import_per_second"])
med = statistics.median
print(f"{count} sentences, medians of {rounds} alternating rounds (sentences/s)")
print(f"  llama-embedding (less its start)         {med(llama):8.1f}   per round: {', '.join(f'{x:.1f}' for x in llama)}")
print(f"  Anima's embedder alone                    {med(embedder):8.1f}   per round: {', '.join(f'{x:.1f}' for x in embedder)}")
print(f"  anima memory import's path                {med(imported):8.1f}   per round: {', '.join(f'{x:.1f}' for x in imported)}")
ratios = [i / l for i, l in zip(imported, llama)]
print(f"  import / llama-embedding: median {med(ratios):.2f} (per round {', '.join(f'{x:.2f}' for x in ratios)}; goal >= 0.8)")
PY
