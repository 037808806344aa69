#!/usr/bin/env bash
# A kernel that tunes itself (issue 24 item 7): `anima-bench tune` runs the same mixed
# workload (long-running agents, bursts of chat, embeddings on the
# same cores) on fixed defaults and under the kernel's tuner, phases alternating, and prints
# the tuned / fixed ratios (goal: tokens/s >= 1.15x at equal or better p99 latency).
set -euo pipefail
cd "$(dirname "$0")/.."
exec .build/release/anima-bench tune --seconds "${SECONDS_PER_PHASE:-90}" --rounds "${ROUNDS:-2}" --window "${WINDOW:-5}" "$@"
