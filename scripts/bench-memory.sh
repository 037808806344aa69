#!/usr/bin/env bash
# Memory benchmarks, each against an anchor measured in the same run:
#  1. the archival HNSW index (Anima's shim over Debian's hnswlib) against hnswlib's
#     Python package on the same vectors and parameters: recall@10 and queries/s;
#  2. page-in latency over 100k encrypted memories, against an exact scan;
#  3. embedding throughput of LlamaEmbedder against llama.cpp's llama-embedding, built
#     from the same source and flags, on the same model and sentences.
# Real all-MiniLM-L6-v2 embeddings of synthetic sentences make the first 100k vectors;
# larger sizes add perturbed copies of them. Data is kept in $BENCH_DIR between runs.
#
#   scripts/bench-memory.sh                       # everything (1M takes a while on 2 cores)
#   SIZES=100000 ROUNDS=2 scripts/bench-memory.sh  # quicker
#   ONLY=embed scripts/bench-memory.sh             # one part: index, pagein or embed
set -euo pipefail
cd "$(dirname "$0")/.."

cache="${ANIMA_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/anima}"
py="$cache/memory-venv/bin/python"
helper="$(pwd)/scripts/bench_memory.py"
bench="${ANIMA_BENCH_BIN:-$(pwd)/.build/release/anima-bench}"
work="${BENCH_DIR:-$cache/bench-memory}"
sizes="${SIZES:-100000,1000000}"
rounds="${ROUNDS:-3}"
efs="${EFS:-32,64,128}"
m="${M:-16}"
efc="${EFC:-200}"
threads="${THREADS:-$(nproc)}"
only="${ONLY:-}"
[ -x "$bench" ] || { echo "no $bench; run \`make release\` first (or set ANIMA_BENCH_BIN)" >&2; exit 1; }
[ -x "$py" ] || { echo "no $py; run \`make setup\` first" >&2; exit 1; }
mkdir -p "$work"
results="$work/results-$(date +%Y%m%d-%H%M%S).jsonl"
say() { printf '\033[1mbench-memory:\033[0m %s\n' "$*" >&2; }
rows() { echo $(( $(stat -c %s "$1") / (384 * 4) )); }

# --- data: 111k sentences and their real embeddings ------------------------------------
real=111000   # 100k to index, 1k queries, 10k spare for page-in queries
if [ ! -f "$work/sentences.txt" ]; then
  say "writing $real synthetic sentences"
  "$py" "$helper" sentences "$real" "$work/sentences.txt"
fi
if [ ! -f "$work/real.f32" ] || [ "$(rows "$work/real.f32")" -ne "$real" ]; then
  say "embedding $real sentences with all-MiniLM-L6-v2 (a few minutes)"
  "$bench" memory embed --sentences "$work/sentences.txt" --repetitions 1 --output "$work/real.f32" >&2
fi
head -c $((100000 * 384 * 4)) "$work/real.f32" >"$work/base-100000.f32"
# dd, not tail | head: under pipefail, tail's SIGPIPE would end the script.
dd if="$work/real.f32" of="$work/queries.f32" bs=$((384 * 4)) skip=100000 count=1000 status=none

# --- 1. the vector index -----------------------------------------------------------------
if [ -z "$only" ] || [ "$only" = index ]; then
  for n in ${sizes//,/ }; do
    base="$work/base-$n.f32"
    if [ ! -f "$base" ] || [ "$(rows "$base")" -ne "$n" ]; then
      say "making $n vectors: 100000 real, $((n - 100000)) perturbed copies"
      "$py" "$helper" expand "$work/base-100000.f32" $((n - 100000)) "$work/extra.f32"
      cat "$work/base-100000.f32" "$work/extra.f32" >"$base"
      rm -f "$work/extra.f32"
    fi
    truth="$work/truth-$n.i32"
    [ -f "$truth" ] && [ "$truth" -nt "$base" ] || { say "exact neighbours for $n (numpy)"; "$py" "$helper" truth "$base" "$work/queries.f32" 10 "$truth"; }
    for round in $(seq "$rounds"); do
      say "round $round/$rounds, $n vectors: hnswlib (Python)"
      "$py" "$helper" hnswlib "$base" "$work/queries.f32" "$truth" 10 "$m" "$efc" "$efs" "$threads" | tee -a "$results"
      say "round $round/$rounds, $n vectors: anima"
      "$bench" memory index --vectors "$base" --queries "$work/queries.f32" --truth "$truth" \
        --m "$m" --ef-construction "$efc" --ef "$efs" --threads "$threads" | tee -a "$results"
    done
  done
fi

# --- 2. page-in ----------------------------------------------------------------------------
if [ -z "$only" ] || [ "$only" = pagein ]; then
  say "page-in over 100000 memories"
  head -n 100000 "$work/sentences.txt" >"$work/pagein.txt"
  sed -n "101001,102000p" "$work/sentences.txt" >>"$work/pagein.txt"
  cat "$work/base-100000.f32" >"$work/pagein.f32"
  dd if="$work/real.f32" bs=$((384 * 4)) skip=101000 count=1000 status=none >>"$work/pagein.f32"
  "$bench" memory page-in --sentences "$work/pagein.txt" --vectors "$work/pagein.f32" \
    --memories 100000 --queries 1000 | tee -a "$results"
fi

# --- 3. embedding throughput ---------------------------------------------------------------
if [ -z "$only" ] || [ "$only" = embed ]; then
  tool=$(scripts/llama-tool.sh llama-embedding)
  model="$cache/models/all-MiniLM-L6-v2.F16.gguf"
  head -n 5000 "$work/sentences.txt" >"$work/embed.txt"
  n=$(wc -l <"$work/embed.txt")
  for round in $(seq "$rounds"); do
    say "round $round/$rounds: llama-embedding and anima on $n sentences"
    # llama-embedding's own figure: its encoding rate from the timestamps it logs per
    # batch, which leaves out loading and printing. Same batch size, threads.
    "$tool" -m "$model" -f "$work/embed.txt" -b 512 -ub 512 -c 512 -t "$threads" -tb "$threads" \
      --embd-normalize 2 >/dev/null 2>"$work/llama-embedding.log" || { tail -20 "$work/llama-embedding.log" >&2; exit 1; }
    llama_rate=$("$py" "$helper" llama-rate "$work/llama-embedding.log")
    ours=$("$bench" memory embed --sentences "$work/embed.txt" --batch-tokens 512 --threads "$threads" --repetitions 1)
    "$py" -c "import json,sys; a=json.loads(sys.argv[1]); print(json.dumps({'bench':'embed','sentences':a['sentences'],'anima':a['per_second'],'llama':float(sys.argv[2])}))" \
      "$ours" "$llama_rate" | tee -a "$results"
  done
fi

say "results in $results"
"$py" "$helper" summary "$results"
