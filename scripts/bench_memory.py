#!/usr/bin/env python3
"""Data and references for scripts/bench-memory.sh.

  sentences N OUT.txt                 deterministic synthetic sentences, one per line
  expand BASE.f32 N OUT.f32           N synthetic vectors: perturbed copies of real embeddings
  truth BASE.f32 QUERIES.f32 K OUT    exact top-K by inner product (int32 rows), numpy
  hnswlib BASE QUERIES TRUTH K M EFC EFS THREADS
                                      hnswlib's Python package on the same data: JSON lines
  summary RESULTS.jsonl               the tables of ratios for BENCHMARKS.md
"""

import json
import re
import random
import statistics
import sys
import time

import numpy as np

DIM = 384


def sentences(n, out):
    rng = random.Random(20251122)
    people = ["Ada", "Bruno", "Chen", "Dalia", "Emeka", "Farah", "Goran", "Hana", "Ines", "Jonas", "Kiri", "Lena",
              "Mateo", "Nadia", "Omar", "Priya", "Quinn", "Rosa", "Sven", "Tamar", "Umar", "Vera", "Wen", "Yusuf"]
    verbs = ["booked", "repaired", "painted", "sold", "borrowed", "cooked", "photographed", "planted", "cleaned",
             "ordered", "returned", "measured", "packed", "tuned", "translated", "forgot", "found", "wrapped"]
    things = ["a blue bicycle", "the kitchen table", "two concert tickets", "an old camera", "the garden fence",
              "a lemon cake", "the hotel room", "a wool sweater", "the train seats", "a chess set", "the roof tiles",
              "a violin", "the tax forms", "a pair of boots", "the fish tank", "a paper lantern", "the laptop",
              "a jar of honey", "the winter tyres", "a map of Norway", "the wedding invitations", "a microscope"]
    places = ["in Lisbon", "near the harbour", "at the market", "in the attic", "behind the library",
              "at grandmother's house", "in Kyoto", "by the river", "at the office", "in the mountains",
              "at the airport", "in a small bakery", "on the night train", "at the school fair", "in Nairobi"]
    whens = ["on Monday", "last spring", "before dinner", "during the storm", "after the meeting", "in March",
             "at dawn", "over the weekend", "yesterday", "three years ago", "on her birthday", "this morning"]
    reasons = ["for a surprise party", "because it was broken", "to save money", "for the new flat",
               "as a favour", "for the exhibition", "before the move", "for the holidays", "", "", ""]
    with open(out, "w") as f:
        for i in range(n):
            s = f"{rng.choice(people)} {rng.choice(verbs)} {rng.choice(things)} {rng.choice(places)} {rng.choice(whens)}"
            reason = rng.choice(reasons)
            f.write((s + (" " + reason if reason else "") + ".\n"))


def expand(base_path, n, out):
    base = np.fromfile(base_path, dtype=np.float32).reshape(-1, DIM)
    rng = np.random.default_rng(7)
    with open(out, "wb") as f:
        done = 0
        while done < n:
            m = min(100_000, n - done)
            picks = base[rng.integers(0, len(base), m)]
            v = picks + rng.normal(0, 0.35 / np.sqrt(DIM), size=picks.shape).astype(np.float32) * 3
            v /= np.linalg.norm(v, axis=1, keepdims=True)
            v.astype(np.float32).tofile(f)
            done += m


def truth(base_path, query_path, k, out):
    base = np.fromfile(base_path, dtype=np.float32).reshape(-1, DIM)
    queries = np.fromfile(query_path, dtype=np.float32).reshape(-1, DIM)
    best_scores = np.full((len(queries), k), -np.inf, dtype=np.float32)
    best_ids = np.zeros((len(queries), k), dtype=np.int64)
    for start in range(0, len(base), 200_000):
        chunk = base[start:start + 200_000]
        scores = queries @ chunk.T
        top = np.argpartition(-scores, k, axis=1)[:, :k]
        top_scores = np.take_along_axis(scores, top, axis=1)
        all_scores = np.concatenate([best_scores, top_scores], axis=1)
        all_ids = np.concatenate([best_ids, top + start], axis=1)
        keep = np.argsort(-all_scores, axis=1)[:, :k]
        best_scores = np.take_along_axis(all_scores, keep, axis=1)
        best_ids = np.take_along_axis(all_ids, keep, axis=1)
    best_ids.astype(np.int32).tofile(out)


def run_hnswlib(base_path, query_path, truth_path, k, m, efc, efs_list, threads):
    import hnswlib
    base = np.fromfile(base_path, dtype=np.float32).reshape(-1, DIM)
    queries = np.fromfile(query_path, dtype=np.float32).reshape(-1, DIM)
    exact = np.fromfile(truth_path, dtype=np.int32).reshape(len(queries), k)
    index = hnswlib.Index(space="ip", dim=DIM)
    index.init_index(max_elements=len(base), M=m, ef_construction=efc, random_seed=100)
    index.set_num_threads(threads)
    t0 = time.perf_counter()
    index.add_items(base, np.arange(len(base)))
    build = time.perf_counter() - t0
    # Queries one at a time on one thread, as Anima's benchmark runs them: the batch call
    # with one thread loops over the queries inside hnswlib's C++.
    index.set_num_threads(1)
    for ef in efs_list:
        index.set_ef(ef)
        best = float("inf")
        for _ in range(3):
            t0 = time.perf_counter()
            labels, _ = index.knn_query(queries, k=k, num_threads=1)
            best = min(best, time.perf_counter() - t0)
        hits = sum(len(set(labels[i]) & set(exact[i])) for i in range(len(queries)))
        print(json.dumps({"impl": "hnswlib", "n": len(base), "queries": len(queries), "k": k, "m": m,
                          "ef_construction": efc, "ef": ef, "build_seconds": build, "qps": len(queries) / best,
                          "recall": hits / (len(queries) * k)}, sort_keys=True), flush=True)


def llama_rate(log_path):
    """Sentences per second of llama-embedding's encoding, from its log.

    This llama.cpp prints no timing summary for embeddings, but every log line carries a
    timestamp (minutes.seconds.milliseconds.microseconds since start), and it logs each
    batch as it starts encoding it. From the first batch's line to the last's, it encoded
    every batch but the last: that interval leaves out loading and printing."""
    batches = []
    for line in open(log_path, errors="replace"):
        m = re.match(r"(\d+)\.(\d+)\.(\d+)\.(\d+) I batch_decode: n_tokens = \d+, n_seq = (\d+)", line)
        if m:
            mins, secs, ms, us, seqs = (int(g) for g in m.groups())
            batches.append((mins * 60 + secs + ms / 1e3 + us / 1e6, seqs))
    if len(batches) < 2:
        raise SystemExit("llama-embedding logged fewer than two batches; cannot time it")
    encoded = sum(seqs for _, seqs in batches[:-1])
    print(encoded / (batches[-1][0] - batches[0][0]))


def summary(path):
    rows = [json.loads(line) for line in open(path) if line.startswith("{")]
    index = [r for r in rows if r.get("impl") in ("anima", "hnswlib") and "qps" in r]
    if index:
        print("| vectors | ef | recall@10 Anima | recall@10 hnswlib | queries/s Anima / hnswlib (median of rounds) | build s Anima / hnswlib |")
        print("|---|---|---|---|---|---|")
        keys = sorted({(r["n"], r["ef"]) for r in index})
        for n, ef in keys:
            a = [r for r in index if r["impl"] == "anima" and r["n"] == n and r["ef"] == ef]
            h = [r for r in index if r["impl"] == "hnswlib" and r["n"] == n and r["ef"] == ef]
            if not a or not h:
                continue
            ratio = statistics.median(x["qps"] for x in a) / statistics.median(x["qps"] for x in h)
            build = statistics.median(x["build_seconds"] for x in a) / statistics.median(x["build_seconds"] for x in h)
            print(f"| {n:,} | {ef} | {statistics.median(x['recall'] for x in a):.4f} | "
                  f"{statistics.median(x['recall'] for x in h):.4f} | {ratio:.2f} "
                  f"({statistics.median(x['qps'] for x in a):.0f} / {statistics.median(x['qps'] for x in h):.0f}) | "
                  f"{build:.2f} ({statistics.median(x['build_seconds'] for x in a):.0f} / "
                  f"{statistics.median(x['build_seconds'] for x in h):.0f}) |")
    embed = [r for r in rows if r.get("bench") == "embed"]
    if embed:
        a = statistics.median(r["anima"] for r in embed)
        b = statistics.median(r["llama"] for r in embed)
        print(f"\nembedding: Anima {a:.0f} sentences/s, llama-embedding {b:.0f} sentences/s, ratio {a / b:.2f} "
              f"(median of {len(embed)} alternating rounds)")
    pagein = [r for r in rows if "p50_ms" in r]
    for r in pagein:
        print(f"\npage-in with {r['memories']:,} memories: p50 {r['p50_ms']:.2f} ms, p99 {r['p99_ms']:.2f} ms, "
              f"{r['mean_pages']:.1f} pages per query; exact scan anchor p50 {r['scan_p50_ms']:.2f} ms "
              f"(page-in / scan = {r['p50_vs_scan']:.2f}); fill {r['fill_seconds']:.0f} s; "
              f"decrypting every record {r['decrypt_all_seconds']:.1f} s; blinded full-text search p50 "
              f"{r['blind_text_search_p50_ms']:.2f} ms")


if __name__ == "__main__":
    cmd = sys.argv[1]
    if cmd == "sentences":
        sentences(int(sys.argv[2]), sys.argv[3])
    elif cmd == "expand":
        expand(sys.argv[2], int(sys.argv[3]), sys.argv[4])
    elif cmd == "truth":
        truth(sys.argv[2], sys.argv[3], int(sys.argv[4]), sys.argv[5])
    elif cmd == "hnswlib":
        run_hnswlib(sys.argv[2], sys.argv[3], sys.argv[4], int(sys.argv[5]), int(sys.argv[6]), int(sys.argv[7]),
                    [int(x) for x in sys.argv[8].split(",")], int(sys.argv[9]))
    elif cmd == "llama-rate":
        llama_rate(sys.argv[2])
    elif cmd == "summary":
        summary(sys.argv[2])
    else:
        raise SystemExit(__doc__)
