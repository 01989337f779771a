PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
WORKDIR ?= runs/demo
DATA ?= data/demo

.PHONY: demo serve-demo test venv data bench clean

$(BIN)/activate-tfi2i: setup.cfg pyproject.toml
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[test,serving]'
	touch $@

venv: $(BIN)/activate-tfi2i

data: venv
	$(BIN)/python -m tfi2i.data.demo --out=$(DATA)

demo: data
	$(BIN)/python -m tfi2i.train --recipe=recipes/cyclegan_demo.py --recipe.data.root=$(DATA) --workdir=$(WORKDIR)
	$(BIN)/python -m tfi2i.translate --model=$(WORKDIR)/export --input=$(DATA)/testA --output=$(WORKDIR)/gallery/a_to_b
	$(BIN)/python -m tfi2i.translate --model=$(WORKDIR)/export --input=$(DATA)/testB --output=$(WORKDIR)/gallery/b_to_a --direction=b_to_a
	@echo "Galleries: $(WORKDIR)/gallery/a_to_b/index.html $(WORKDIR)/gallery/b_to_a/index.html"
	@echo "TensorBoard: $(BIN)/tensorboard --logdir=$(WORKDIR)"

serve-demo: venv
	$(BIN)/python serving/demo.py --workdir=$(WORKDIR) --data=$(DATA)

test: venv
	$(BIN)/python -m pytest -q tests

bench: venv
	$(BIN)/python -m tfi2i.bench --recipe=recipes/cyclegan.py

clean:
	rm -rf $(VENV) runs
