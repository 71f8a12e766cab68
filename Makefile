# `make run` and `make test` set up everything they need and are safe to run again.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1
export TOKENIZERS_PARALLELISM := false

.PHONY: run test lint bench train install clean

$(PY):
	$(PYTHON) -m venv $(VENV)

# torch first, pinned: the CPU wheel lies on the machine. Anything that let pip choose torch
# would download gigabytes of CUDA packages.
$(STAMP): $(PY) pyproject.toml
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet torch==2.13.0
	$(PY) -m pip install --quiet -e '.[test,cluster,train]'
	$(PY) -m embeddings.onnx_export
	touch $(STAMP)

install: $(STAMP)

run: $(STAMP)
	@$(VENV)/bin/verbatim run

test: $(STAMP)
	$(PY) -m pytest

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy

bench: $(STAMP)
	$(PY) -m benchmarks.answer_latency
	$(PY) -m benchmarks.cold_ask
	$(PY) -m benchmarks.indexing
	$(PY) -m benchmarks.segmentation
	$(PY) -m benchmarks.bot_load
	$(PY) -m benchmarks.encoder

# Train the learned ranker again on SQuAD 2.0 dev (folds by article; about 15 minutes on 2 cores
# the first time, the features are then cached) and redraw its reliability diagram.
SQUAD ?= ../shared/data/squad-v2.0-dev.json
train: $(STAMP)
	$(PY) -m retrieval.learn.train --squad $(SQUAD) --cache .verbatim/train/features.npz \
		--folds-dir .verbatim/train/folds --plot docs/ranker_reliability.png

clean:
	rm -rf $(VENV) .verbatim
