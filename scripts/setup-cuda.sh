#!/usr/bin/env bash
# GPU code (issue 17), called by `setup.sh --cuda`: ggml's CUDA backend built from the same
# patched llama.cpp source and flags as the CPU modules, installed beside them as
# libggml-cuda.so. The engine loads it when present; on a machine without NVIDIA's driver it
# registers no device and everything stays on the CPU. The compiler is the CUDA toolkit's
# nvcc when one is installed ($CUDA_HOME, or nvcc on PATH); without one, NVIDIA's CUDA 13.0
# wheels from PyPI (compiler, runtime and cuBLAS: about 520 MB to download, 840 MB
# unpacked), pinned by hash. Runtime libraries the module needs and the system does not
# provide are copied beside it. Idempotent: a second run checks a marker.
# Usage: setup-cuda.sh CACHE LLAMA_PREFIX LLAMA_CONFIG_ID [remembered]
# "remembered": setup was not asked for --cuda this time, only earlier. A build that failed
# is then not tried again (setup goes on with the CPU) until --cuda is given again.
# Environment: ANIMA_CUDA_ARCHS, the GPU generations to compile for ("90", "86;89"); by
# default those of the GPUs nvidia-smi lists, else llama.cpp's own list (a longer build).
set -euo pipefail

cache="$1"; llama_prefix="$2"; llama_config="$3"; remembered="${4:-}"
say() { printf '\033[1msetup:\033[0m %s\n' "$*" >&2; }
die() {
  printf 'setup: error: %s\n' "$*" >&2
  [ -z "${failed_marker:-}" ] || touch "$failed_marker"
  exit 1
}
sha256_of() { sha256sum "$1" | cut -d' ' -f1; }

src="$cache/llama.cpp/src-$llama_config"
[ -f "$src/ggml/src/ggml-cuda/CMakeLists.txt" ] || die "no llama.cpp source at $src; run scripts/setup.sh first"

# --- the compiler --------------------------------------------------------------------
# NVIDIA's wheels (CUDA 13.0, the newest the 580 driver series runs) all unpack into
# nvidia/cu13/, a toolkit's layout: bin/nvcc, nvvm/, include/ (with cccl/), lib/.
wheels=(
  "nvidia-cuda-nvcc==13.0.88 nvidia_cuda_nvcc-13.0.88-py3-none-manylinux2014_x86_64.manylinux_2_17_x86_64.whl 56fe502eb77625a12f25172caa3cdddb4e4c8ba2c8c17dba44b164761b380f03"
  "nvidia-cuda-crt==13.0.88 nvidia_cuda_crt-13.0.88-py3-none-manylinux2014_x86_64.manylinux_2_17_x86_64.whl 2c8043c7c9e02492716426e9919fc78d2c5b3b2a7a768a88e952676b08aa55a4"
  "nvidia-nvvm==13.0.88 nvidia_nvvm-13.0.88-py3-none-manylinux2010_x86_64.manylinux_2_12_x86_64.whl c5f41ffeb6466944a026dfa5317d7d85355c119bbec279205d22f1869d1054e0"
  "nvidia-cuda-runtime==13.0.96 nvidia_cuda_runtime-13.0.96-py3-none-manylinux2014_x86_64.manylinux_2_17_x86_64.whl 7f82250d7782aa23b6cfe765ecc7db554bd3c2870c43f3d1821f1d18aebf0548"
  "nvidia-cuda-cccl==13.0.85 nvidia_cuda_cccl-13.0.85-py3-none-manylinux2014_x86_64.manylinux_2_17_x86_64.whl e0da7ad981f3a8aff08241b5bfc1af868742a63e2762f53a5171c492ef242649"
  "nvidia-cublas==13.0.2.14 nvidia_cublas-13.0.2.14-py3-none-manylinux_2_27_x86_64.whl 0cf238ffdbe46c00cb9aa98e7bca745c223a5ca5a53e686ac8b3e5a08fe80d6c"
)

toolkit_from_wheels() {
  [ "$(uname -m)" = x86_64 ] || die "the CUDA wheels pinned here are for x86-64; install NVIDIA's toolkit and set CUDA_HOME"
  local root="$cache/cuda/13.0"
  if [ ! -f "$root/.complete" ]; then
    local pip_cmd; pip_cmd=$(command -v pip3 || command -v pip) || die "pip is missing; install python3-pip"
    local tmp; tmp=$(mktemp -d "$cache/downloads/cuda.XXXXXX")
    rm -rf "$root"; mkdir -p "$root"
    for entry in "${wheels[@]}"; do
      read -r requirement file sum <<<"$entry"
      local wheel="$cache/downloads/$file"
      if [ ! -f "$wheel" ] || [ "$(sha256_of "$wheel")" != "$sum" ]; then
        say "downloading $requirement"
        rm -f "$wheel"
        "$pip_cmd" download -q --no-deps --only-binary=:all: --platform manylinux_2_27_x86_64 \
          --platform manylinux2014_x86_64 --platform manylinux2010_x86_64 "$requirement" -d "$cache/downloads" \
          || die "could not download $requirement"
        [ "$(sha256_of "$wheel")" = "$sum" ] || die "checksum mismatch for $wheel (want $sum)"
      fi
      unzip -q -o "$wheel" 'nvidia/cu13/*' -d "$tmp"
    done
    cp -a "$tmp/nvidia/cu13/." "$root/"
    rm -rf "$tmp"
    chmod +x "$root"/bin/* "$root"/nvvm/bin/* 2>/dev/null || true
    # nvcc links from lib64; CMake's FindCUDAToolkit looks for the unversioned names.
    ln -sfn lib "$root/lib64"
    for lib in libcudart libcublas libcublasLt; do ln -sfn "$lib.so.13" "$root/lib/$lib.so"; done
    touch "$root/.complete"
  fi
  echo "$root"
}

if [ -n "${CUDA_HOME:-}" ] && [ -x "$CUDA_HOME/bin/nvcc" ]; then
  toolkit="$CUDA_HOME"
elif command -v nvcc >/dev/null 2>&1; then
  toolkit=$(dirname "$(dirname "$(readlink -f "$(command -v nvcc)")")")
else
  toolkit=$(toolkit_from_wheels)
fi
nvcc="$toolkit/bin/nvcc"
cuda_version=$("$nvcc" --version | sed -n 's/.*release \([0-9.]*\).*/\1/p')
[ -n "$cuda_version" ] || die "$nvcc does not report its version"

archs="${ANIMA_CUDA_ARCHS:-}"
if [ -z "$archs" ] && command -v nvidia-smi >/dev/null 2>&1; then
  archs=$(nvidia-smi --query-gpu=compute_cap --format=csv,noheader 2>/dev/null | tr -d ' .' | sort -u | paste -sd';' || true)
fi
arch_flags=(); [ -n "$archs" ] && arch_flags=(-DCMAKE_CUDA_ARCHITECTURES="$archs")

# Without the driver's development library (libcuda.so) ggml cannot link its virtual-memory
# pool; it then uses its plain pool, which the driver runs all the same.
vmm_flags=()
if ! find "$toolkit" -name 'libcuda.so' 2>/dev/null | grep -q . && ! ldconfig -p 2>/dev/null | grep -q 'libcuda\.so '; then
  vmm_flags=(-DGGML_CUDA_NO_VMM=ON)
fi

# Changing how it is built: bump build_rev, so the marker changes.
build_rev=1
cuda_id=$(printf '%s %s %s %s %s' "$llama_config" "$cuda_version" "$archs" "${vmm_flags[*]}" "$build_rev" | sha256sum | cut -c1-12)
marker="$llama_prefix/cuda-$cuda_id.complete"
failed_marker="$llama_prefix/cuda-$cuda_id.failed"
if [ -n "$remembered" ] && [ -f "$failed_marker" ]; then
  say "the CUDA backend failed to build before; staying on the CPU (scripts/setup.sh --cuda tries again, --no-cuda stops asking)"
  exit 0
fi
rm -f "$failed_marker"
if [ ! -f "$marker" ] || [ ! -f "$llama_prefix/lib/libggml-cuda.so" ]; then
  mapfile -t flags <"$llama_prefix/cmake-flags"
  build="$cache/llama.cpp/build-cuda-$cuda_id"
  log="$cache/llama.cpp/cmake-cuda-$cuda_id.log"
  say "building llama.cpp's CUDA backend with CUDA $cuda_version for ${archs:-the GPU generations llama.cpp lists} (tens of minutes on 2 cores)"
  cmake -S "$src" -B "$build" "${flags[@]}" -DGGML_CUDA=ON "${arch_flags[@]}" "${vmm_flags[@]}" \
    -DCMAKE_CUDA_COMPILER="$nvcc" -DCUDAToolkit_ROOT="$toolkit" -DCMAKE_BUILD_WITH_INSTALL_RPATH=ON \
    -DLLAMA_BUILD_TOOLS=OFF -DLLAMA_BUILD_COMMON=OFF >"$log" 2>&1 || die "cmake configure failed; see $log"
  cmake --build "$build" --target ggml-cuda -j"$(nproc)" >>"$log" 2>&1 || die "the CUDA backend did not build; see $log"
  module=$(find "$build" -name libggml-cuda.so -type f | head -1)
  [ -n "$module" ] || die "the build made no libggml-cuda.so; see $log"
  install -m 644 "$module" "$llama_prefix/lib/libggml-cuda.so.tmp"
  # The runtime libraries (cudart, cuBLAS) the loader would not find go beside the module,
  # whose RUNPATH is $ORIGIN. The driver (libcuda.so.1) always comes from the system.
  # Again until none is missing: ldd lists a library's own needs (cuBLAS needs cuBLASLt)
  # only once it finds the library.
  for _ in 1 2 3 4; do
    missing=$(ldd "$llama_prefix/lib/libggml-cuda.so.tmp" | awk '/not found/ {print $1}')
    [ -n "$missing" ] || break
    for lib in $missing; do
      found=$(find -L "$toolkit" -name "$lib" -type f 2>/dev/null | head -1)
      [ -n "$found" ] || die "libggml-cuda.so needs $lib, which neither the system nor $toolkit has"
      # The wheels' toolkit stays in the cache: link to it rather than copy 600 MB.
      case "$toolkit" in
        "$cache"/*) ln -sfn "$found" "$llama_prefix/lib/$lib" ;;
        *) install -m 644 "$found" "$llama_prefix/lib/$lib" ;;
      esac
    done
  done
  mv "$llama_prefix/lib/libggml-cuda.so.tmp" "$llama_prefix/lib/libggml-cuda.so"
  rm -rf "$build"
  rm -f "$llama_prefix"/cuda-*.complete
  touch "$marker"
fi
say "CUDA backend: $llama_prefix/lib/libggml-cuda.so (CUDA $cuda_version${archs:+, GPUs $archs})"
