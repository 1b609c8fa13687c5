# make reproduce   set up, build the data, execute every notebook in place (PROFILE=quick), refresh figures/ results/
# make test        set up, unit tests, then every notebook under nbval with the tiny 'smoke' profile
SHELL := /bin/bash
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
PROFILE ?= quick
DATASET ?= mock
NOTEBOOKS := $(sort $(wildcard notebooks/0*.ipynb))
# Keras reads its backend at first import; TensorFlow logs and oneDNN notes only clutter the notebooks.
export KERAS_BACKEND := tensorflow
export TF_CPP_MIN_LOG_LEVEL := 2
export PYTHONHASHSEED := 0

.PHONY: setup browser data reproduce notebooks test unit nbval realism realism-galaxy10 slides bench clean
setup: $(VENV)/.installed browser

# Headless Chromium (Debian's 'chromium') renders the slide deck in its test and prints it to PDF.
# Installed with apt-get when missing and run as root; elsewhere skipped: the test then skips, with a reason.
browser:
	@if command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1; then :; \
	elif command -v apt-get >/dev/null 2>&1 && [ "$$(id -u)" = 0 ]; then \
	  echo "installing chromium (headless browser for the slide test and the PDF) with apt-get"; \
	  { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; } \
	    || echo "chromium could not be installed: the slide test will be skipped, make slides writes HTML only"; \
	else echo "no chromium, and no apt-get as root to install it: the slide test will be skipped, make slides writes HTML only"; fi

$(VENV)/.installed: requirements.txt pyproject.toml
	@command -v $(PYTHON) >/dev/null || { echo "needs $(PYTHON) (Python 3.11); set PYTHON=..."; exit 1; }
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade "pip>=24"
	$(PY) -m pip install --quiet --no-compile -r requirements.txt
	$(PY) -m pip install --quiet --no-deps --no-build-isolation -e .
	@# pip byte-compiles on one core, compileall on all of them; its one failure is expected: torch's
	@# py312_intrinsics.py test helper is Python 3.12 syntax (pip skips it in silence too)
	$(PY) -m compileall -qq -j 0 $(VENV)/lib >/dev/null || true
	touch $@

data: setup
	PROFILE=$(PROFILE) DATASET=$(DATASET) $(PY) -m helpers.prepare

# Each notebook's wall time goes to $(TIMES) (results/notebook_times.json): the README's notebook index.
TIMES ?= results/notebook_times.json
notebooks: setup
	@for nb in $(NOTEBOOKS); do \
	  echo "== $$nb (PROFILE=$(PROFILE), DATASET=$(DATASET))"; \
	  start=$$(date +%s); \
	  PROFILE=$(PROFILE) DATASET=$(DATASET) $(VENV)/bin/jupyter nbconvert --to notebook --execute --inplace \
	    --ExecutePreprocessor.timeout=-1 "$$nb" || exit 1; \
	  seconds=$$(( $$(date +%s) - start )); echo "   $$seconds s"; \
	  $(PY) -m helpers.report --time "$$nb" $$seconds --profile $(PROFILE) --dataset $(DATASET) \
	    --times $(TIMES) >/dev/null; \
	done

reproduce: setup data notebooks
	$(PY) -m helpers.report
	$(MAKE) --no-print-directory slides

# The classroom deck, presentations/slides.html (one offline file), from figures/ and results/; with
# chromium every slide is checked at 1280x720 and 1920x1080 (a slide that does not fit fails, by name)
# and printed to presentations/slides.pdf (one slide per page).
slides: setup
	$(PY) -m helpers.slides $$(command -v chromium >/dev/null 2>&1 && echo --pdf)

unit: setup
	$(PY) -m pytest tests/ -q

# nbval runs each notebook in a fresh kernel and compares only the cells marked NBVAL_CHECK_OUTPUT.
# Figures and results of the smoke run go to .test-output/, never over the committed ones; so do the
# notebooks' wall times (conftest.py): `python -m helpers.report --merge-times .test-output/notebook_times.json`
# takes them into the README's notebook index.
nbval: setup
	PROFILE=smoke DATASET=mock GALAXY_OUTPUT_DIR=$(CURDIR)/.test-output \
	  NOTEBOOK_TIMES=$(CURDIR)/.test-output/notebook_times.json $(PY) -m pytest -p no:cacheprovider \
	  --nbval-lax --nbval-current-env $(NOTEBOOKS) -q

test: unit nbval

# Throughput, memory and scaling figures of this machine -> results/bench.json (minutes; CI runs the
# smoke mode through tests/test_bench.py). On a GPU machine it adds the GPU figures.
bench: setup
	$(PY) benchmarks/bench.py

# Mock against real on a reference sample of real SDSS galaxies that is not part of the repository (a clear
# message and exit 0 where it is absent): statmorph statistics per class, a discriminator (C2 telling real
# from mock, k-fold AUC), sim-to-real C2 beside the same C2 trained on real galaxies. REALISM_ARGS="--quick"
# runs it small (minutes); on cores shared with other jobs TORCH_NUM_THREADS=1 can be far faster.
SAMPLE ?= ../shared/reference/real_sdss_sample
REALISM_ARGS ?=
realism: setup
	$(PY) -m helpers.realism --sample $(SAMPLE) $(REALISM_ARGS)

# The mock Galaxy10 against real galaxies in Galaxy10 SDSS geometry (a reference sample outside the
# repository, as SAMPLE): pixel statistics, a discriminator, transfer beside the real-trained ceiling
# -> results/realism_galaxy10.json, figures/galaxy10_mock_vs_real.png (about an hour on two cores).
G10_SAMPLE ?= ../shared/reference/real_galaxy10_sample
G10_ARGS ?=
realism-galaxy10: setup
	$(PY) -m helpers.galaxy10_realism --sample $(G10_SAMPLE) $(G10_ARGS)

clean:
	rm -rf .test-output checkpoints data/processed/*.tmp
