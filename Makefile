# pinnlab — the two set-up commands are `make workbook` and `make test`.
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
MODE   ?= quick
DEVICE ?= auto
ONLY   ?=
TORCH_PIN ?= torch==2.13.0

.PHONY: all venv install test test-unit test-notebooks test-browser workbook figures lab bench clean strip

all: test

$(VENV)/bin/python:
	$(PYTHON) -m venv $(VENV)

# torch: keep one that is already importable (a CUDA build you installed first),
# else the pinned CPU wheel, never a multi-GB CUDA build by accident.
$(VENV)/.installed: $(VENV)/bin/python pyproject.toml
	@if $(PY) -c "import torch" 2>/dev/null; then \
	  echo "using the installed torch $$($(PY) -c 'import torch; print(torch.__version__)')"; \
	else \
	  echo "installing $(TORCH_PIN) (CPU)"; $(PY) -m pip install -q "$(TORCH_PIN)"; \
	fi
	$(PY) -m pip install -q -e ".[dev]"
	@touch $@

venv install: $(VENV)/.installed

# Unit tests + every notebook under nbval (quick preset, caches results in build/results/quick),
# then the browser test when Debian's Chromium is installed (it reuses those cached results).
test: $(VENV)/.installed
	PINNLAB_MODE=quick $(PY) -m pytest tests notebooks --ignore=tests/browser --nbval-lax --nbval-current-env -p no:cacheprovider
	@if [ -x /usr/bin/chromium ]; then \
	  $(MAKE) --no-print-directory test-browser; \
	else \
	  echo "*** browser test skipped: /usr/bin/chromium not found (apt-get install -y chromium) ***"; \
	fi

test-unit: $(VENV)/.installed
	$(PY) -m pytest tests --ignore=tests/browser -q

# nbval of every notebook; MODE/DEVICE as for `make workbook` (e.g. MODE=full DEVICE=cuda after a full workbook run,
# which reuses its stored results)
test-notebooks: $(VENV)/.installed
	PINNLAB_MODE=$(MODE) PINNLAB_DEVICE=$(DEVICE) $(PY) -m pytest notebooks --nbval-lax --nbval-current-env -q

# Sliders of every notebooks/NN_*.ipynb in headless Chromium (/usr/bin/chromium, never `playwright install`);
# screenshots in build/screenshots/.
test-browser: $(VENV)/.installed
	@$(PY) -c "import playwright, PIL" 2>/dev/null || $(PY) -m pip install -q -e ".[browser]"
	PINNLAB_MODE=quick $(PY) -m pytest tests/browser -q -p no:cacheprovider

workbook: $(VENV)/.installed
	$(PY) -m pinnlab workbook --mode $(MODE) --device $(DEVICE) $(if $(ONLY),--only $(ONLY))

figures: $(VENV)/.installed
	$(PY) -m pinnlab figures --mode $(if $(filter quick,$(MODE)),medium,$(MODE)) --device $(DEVICE) $(if $(ONLY),--only $(ONLY))

lab: $(VENV)/.installed
	$(PY) -m jupyterlab notebooks

# DeepXDE (the pinn_step baseline) is a benchmark-only dependency; DEVICE=cuda runs them on a GPU.
bench: $(VENV)/.installed
	@$(PY) -c "import deepxde" 2>/dev/null || $(PY) -m pip install -q -e ".[bench]"
	$(PY) -m pinnlab bench --device $(if $(filter auto,$(DEVICE)),cpu,$(DEVICE)) $(if $(QUICK),--quick)

strip: $(VENV)/.installed
	$(PY) -m nbstripout --keep-metadata-keys cell.metadata.tags cell.metadata.jupyter notebooks/*.ipynb

clean:
	rm -rf build .pytest_cache
