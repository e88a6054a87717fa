# Two commands do all set-up on a fresh machine: `make demo` and `make test` (README).
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
# system tools: exiftool is needed at run time; exiv2 and exempi are independent XMP readers the tests compare with;
# qemu-user emulates a CPU without AVX-512/VNNI, where the int8 models must compute the same numbers (issue 19)
APT_RUN  := libimage-exiftool-perl
APT_TEST := libimage-exiftool-perl exiv2 exempi lua5.1 darktable xvfb xauth qemu-user chromium chromium-driver



.PHONY: setup demo test bench eval clean interop interop-digikam gpu
.DEFAULT_GOAL := demo

# constraints.txt: the versions the tests passed with, so a fresh machine installs what CI tested
$(STAMP): pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q -c constraints.txt -e '.[dev]'
	touch $(STAMP)

define need_tools
	@missing=""; for t in $(1); do dpkg -s $$t >/dev/null 2>&1 || missing="$$missing $$t"; done; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    echo "installing system packages:$$missing"; \
	    apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
	  elif [ "$(1)" = "$(APT_RUN)" ] && command -v exiftool >/dev/null; then :; \
	  else echo "missing system packages:$$missing -- install them with: sudo apt-get install$$missing"; exit 1; fi; \
	fi
endef

# Keepers' own modules compiled to bytecode once here: where PYTHONDONTWRITEBYTECODE is set (as on this project's
# machines) Python never writes it, and every cull and each of its workers compiled ~130 modules from source at
# start (0.1-0.25 s a process; the throughput check's pipeline +2-3 %, docs/benchmarks.md). Only stale files are
# compiled again; an edit after this is compiled in memory, as before
setup: $(STAMP)
	$(call need_tools,$(APT_RUN))
	@$(BIN)/python -m compileall -q __init__.py cli.py core sidecar plugins >/dev/null

demo: setup
	$(BIN)/keepers demo demo-photos

test: setup
	$(call need_tools,$(APT_TEST))
	$(BIN)/pytest -q

bench: setup
	$(BIN)/python tools/bench.py
	$(BIN)/python tools/bench_models.py
	$(BIN)/python -c "from keepers.core.lab.bench import bench_group; print('grouping 5,000 photos from stored embeddings: %.2f s (goal < 3 s)' % bench_group(5000))"
	$(BIN)/python -c "from keepers.core.lab.bench import bench_knn; r = bench_knn(100_000); print('KNN over 100 k vectors: median %.1f ms, p95 %.1f ms, recall@10 %.2f (goal < 10 ms)' % (r['query_ms_median'], r['query_ms_p95'], r['recall_at_10']))"
	$(BIN)/python tools/load_test.py --clients 16 --requests 1000
	$(BIN)/python tools/review_bench.py --if-made

# NVIDIA GPUs: onnxruntime-gpu in place of onnxruntime (both cannot be installed: they share one package folder,
# and with both the CPU build's files win). A later `pip install -e .` brings the CPU build back: run this again.
gpu: setup
	$(BIN)/pip uninstall -q -y onnxruntime onnxruntime-gpu
	$(BIN)/pip install -q 'onnxruntime-gpu>=1.17'
	$(BIN)/keepers models

# the real darktable, headless (also part of `make test` when installed; skipped there with a reason otherwise)
interop: setup
	$(call need_tools,$(APT_TEST))
	$(BIN)/pytest -q tests/test_darktable.py tests/test_hosts.py tests/test_lightroom_plugin.py

# the real digiKam, headless: slow to install, so a target of its own
interop-digikam: setup
	$(call need_tools,$(APT_TEST))
	@command -v digikam >/dev/null || { [ "$$(id -u)" = 0 ] && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends digikam xvfb xauth sqlite3 >/dev/null; } || { echo "install digiKam: sudo apt-get install --no-install-recommends digikam xvfb xauth"; exit 1; }
	$(BIN)/pytest -q tests/test_digikam.py tests/test_import_ratings.py

clean:
	rm -rf $(VENV) demo-photos .bench
