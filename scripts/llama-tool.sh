#!/usr/bin/env bash
# Prints the path of one of llama.cpp's own tools (llama-batched-bench, llama-server,
# llama-embedding), the anchors of the benchmarks, building it first when missing: from the
# source setup vendored, with the library's own cmake flags (the same CPU variants), into
# $cache/llama-tools/<config>/, beside the library (setup prunes llama.cpp/ of what it does
# not know). The first build of a configuration takes several minutes.
# Usage: scripts/llama-tool.sh NAME
set -euo pipefail
name="${1:?usage: scripts/llama-tool.sh llama-batched-bench|llama-server|llama-embedding}"
cache="${ANIMA_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/anima}"
prefix=$(readlink -f "$cache/llama.cpp/current")
config_id=$(basename "$prefix")
src="$cache/llama.cpp/src-$config_id"
tools="$cache/llama-tools/$config_id"
if [ ! -x "$tools/bin/$name" ]; then
  [ -d "$src" ] || { echo "no llama.cpp source at $src: run scripts/setup.sh" >&2; exit 1; }
  echo "building $name from $src (same flags as the library; several minutes the first time)" >&2
  mkdir -p "$tools"
  mapfile -t flags <"$prefix/cmake-flags"
  cmake -S "$src" -B "$tools" "${flags[@]}" -DLLAMA_BUILD_TOOLS=ON -DLLAMA_BUILD_COMMON=ON -DLLAMA_BUILD_SERVER=ON \
    -DLLAMA_BUILD_EXAMPLES=ON -DCMAKE_INSTALL_PREFIX="$tools/install" >>"$tools.log" 2>&1
  cmake --build "$tools" --target "$name" -j"$(nproc)" >>"$tools.log" 2>&1 || { echo "building $name failed: see $tools.log" >&2; exit 1; }
fi
# The GPU code `setup.sh --cuda` built goes beside the tools too (they load backends from
# their own folder), so an anchor computes where Anima does; links left by a removed one go.
find "$tools/bin" -maxdepth 1 -xtype l -delete
for lib in "$prefix"/lib/libggml-cuda.so "$prefix"/lib/libcudart.so.* "$prefix"/lib/libcublas*.so.*; do
  [ -f "$lib" ] && ln -sfn "$lib" "$tools/bin/$(basename "$lib")"
done
echo "$tools/bin/$name"
