# The two commands a fresh clone needs: `make demo` and `make test`. Both build .venv themselves.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test,spark]'
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/iapt-audit synth --out demo/extract --providers 12 --referrals 24000 --seed 1 --format csv --layout warehouse --nhsd-names
	$(BIN)/iapt-audit audit demo/extract --out demo/out --period 2024-04-01:2025-03-31
	@echo "Demo outputs are in demo/out/"

test: $(STAMP)
	$(BIN)/python -m pytest -q -n 2 --dist loadfile

bench: $(STAMP)
	$(BIN)/python benchmarks/national.py --referrals 180000

clean:
	rm -rf $(VENV) demo build dist
