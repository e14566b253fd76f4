# Two commands: `make run` (set up, build the index, open the chat) and `make test`.
# The tooling (eval, bench, tune) lives in bench/ and its `rag-bench` command.
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
# --no-compile: bytecode is written on first import for the modules actually used, not for every installed
# file (half of the install's CPU time on 2 cores). Python must be let write it: an environment that sets
# PYTHONDONTWRITEBYTECODE would make every process of the tests (and every rag command) compile torch,
# transformers and gradio from source again (the kill and Ray tests took twice as long).
PIP    := $(PY) -m pip install --quiet --disable-pip-version-check --no-compile -c constraints.txt
unexport PYTHONDONTWRITEBYTECODE

.PHONY: run test test-all bench bench-scale tune tune-answers eval browser clean

$(STAMP): pyproject.toml constraints.txt
	@echo "Installing the pinned dependencies into $(VENV) (once; about 2 minutes on a fresh machine)..."
	test -x $(PY) || python3 -m venv $(VENV)
	$(PIP) torch==2.13.0 -e '.[test,bench]'
	touch $(STAMP)

# The first article, a Zakon.kz review kept in ../shared (third-party text: never copied into the project):
# `make run` adds it to a corpus that holds no article yet; without it the chat opens empty.
SEED       ?= ../shared/seeds/000_15e088e1b15391c7.txt
SEED_TITLE := Внешняя политика Казахстана: прагматизм, многовекторность и нейтралитет
CORPUS     := $(or $(RAG_CORPUS),corpus)
# make run PORT=7861 (or RAG_PORT / GRADIO_SERVER_PORT in the environment); rag serve's default is 7860.
PORT       ?=
# The corpus's first article file, if any (hidden files and folders left out, as the reader leaves them).
FIRST_ARTICLE = find "$(CORPUS)" -mindepth 1 -name '.*' -prune -o ! -type d \( -iname '*.md' -o -iname '*.txt' \) -print 2>/dev/null | head -n 1

run: $(STAMP)
	@if [ -z "$$($(FIRST_ARTICLE))" ]; then \
	  if [ -f "$(SEED)" ]; then \
	    $(VENV)/bin/rag add "$(SEED)" --name 000_kazakhstan_foreign_policy.md --title "$(SEED_TITLE)" --publisher Zakon.kz; \
	  else echo "$(CORPUS)/ holds no article and there is no $(SEED): add articles in the chat or with rag add FILE"; fi; fi
	$(VENV)/bin/rag serve $(if $(PORT),--port $(PORT))  # updates index/ from corpus/, then prints the chat's address

# Debian's Chromium for the browser tests (Playwright's own browser download cannot work here).
browser:
	@command -v chromium >/dev/null || { \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq chromium >/dev/null; }

# make test: what CI runs (one representative of each slow component); make test-all: every test.
test: $(STAMP) browser
	$(VENV)/bin/pytest -m 'not slow'

test-all: $(STAMP) browser
	$(VENV)/bin/pytest

eval: $(STAMP)
	$(VENV)/bin/rag-bench eval
	$(VENV)/bin/rag-bench followups

# Quality, speed and memory against LangChain (docs/benchmarks.md), load (docs/load.md), web pages (docs/ingest.md).
bench: $(STAMP)
	$(PY) -m bench.quality --seed $(SEED) --xquad ../shared/data/xquad-ru-dev.json --xquad-en ../shared/data/xquad-en-dev.json --out docs/benchmarks.md
	$(PY) -m bench.load --seed $(SEED) --out docs/load.md
	$(PY) -m bench.extraction --pages ../shared/data/html_pages --out docs/ingest.md
	$(PY) -m bench.ingest --out docs/ingest.md

# The index at scale (docs/scale.md): exact vs HNSW segments, generated archives of 100k and 1M passages
# (against 02d5e61, the index before tantivy and FAISS segments, up to 100k), what checksums cost, and the
# near-duplicate (story) threshold's fit and lookup cost from 1k to 100k articles (docs/stories.md).
bench-scale: $(STAMP)
	$(PY) -m bench.vectors --out docs/scale.md
	$(PY) -m bench.scale --out docs/scale.md
	$(PY) -m bench.checksums --out docs/scale.md
	$(PY) -m bench.stories --xquad ../shared/data/xquad-ru-dev.json --out docs/stories.md

# Refit chunking, BM25, fusion weights, no-answer thresholds and quote choice for the default model.
tune: $(STAMP)
	$(VENV)/bin/rag-bench tune --seed $(SEED) --xquad ../shared/data/xquad-ru-dev.json --xquad-en ../shared/data/xquad-en-dev.json --write

# Refit only the no-answer thresholds and rule, keeping retrieval and the key quote as recorded (after a change to
# how passages or sentences are encoded, delete the vector cache first); writes the confusion tables.
tune-answers: $(STAMP)
	$(VENV)/bin/rag-bench tune --seed $(SEED) --xquad ../shared/data/xquad-ru-dev.json --xquad-en ../shared/data/xquad-en-dev.json --keep-retrieval --keep-quote --cache $(HOME)/.cache/rag/tune-vectors.npz --out docs/benchmarks.md --write

clean:
	rm -rf $(VENV) index/CURRENT index/v-* index/.tmp-* index/.lock
