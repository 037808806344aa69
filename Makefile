# Anima: `make run` sets everything up and opens a chat on the embedded default model;
# `make test` sets up and runs the whole test suite. Both are idempotent.

ANIMA_CACHE ?= $(or $(XDG_CACHE_HOME),$(HOME)/.cache)/anima
export ANIMA_CACHE
LLAMA_PREFIX := $(ANIMA_CACHE)/llama.cpp/current
export PKG_CONFIG_PATH := $(LLAMA_PREFIX)/lib/pkgconfig:$(PKG_CONFIG_PATH)
# The binary finds libllama where setup installed it, without LD_LIBRARY_PATH.
RPATH := -Xlinker -rpath -Xlinker $(LLAMA_PREFIX)/lib
# Voice (issue 23): whisper.cpp, built by scripts/setup-voice.sh on llama.cpp's ggml.
WHISPER_PREFIX := $(ANIMA_CACHE)/whisper.cpp/current
export PKG_CONFIG_PATH := $(WHISPER_PREFIX)/lib/pkgconfig:$(PKG_CONFIG_PATH)
RPATH += -Xlinker -rpath -Xlinker $(WHISPER_PREFIX)/lib
SWIFT_BUILD_FLAGS ?=

.PHONY: setup build release run test bench clean

setup:
	@./scripts/setup.sh $(SETUP_ARGS)

# The end-to-end agent test runs on Qwen2.5-Coder-0.5B (issue 17): `make test` fetches it.
test: SETUP_ARGS := --with-model qwen2.5-coder-0.5b

build: setup
	swift build $(RPATH) $(SWIFT_BUILD_FLAGS)

# Builds both executables: anima and anima-bench (the benchmarks; `make bench`).
release: setup
	swift build -c release $(RPATH) $(SWIFT_BUILD_FLAGS)

run: release
	@.build/release/anima chat

test: setup
	# Every imported module declared for its target (a transitive one breaks when its carrier changes).
	./scripts/check-imports.py
	swift build --build-tests $(RPATH) $(SWIFT_BUILD_FLAGS)
	# One test at a time: the suite runs real models, sandboxes and servers, and on two
	# cores running them all at once starves the ones that measure time.
	swift test --skip-build --no-parallel $(RPATH) $(SWIFT_BUILD_FLAGS)

# `make bench BENCH="decode prefill agents api daemon-cost cpu ingest tune gpu"` runs scripts/bench-NAME.sh for each (issue 24).
BENCH ?= decode
bench: release
	@for b in $(BENCH); do ./scripts/bench-$$b.sh || exit 1; done

clean:
	rm -rf .build
