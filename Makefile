PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
WORKDIR ?= runs/demo
DATA ?= data/demo

ATTR_DATA ?= data/demo_attributes
CAM_RUNS ?= runs/cam_ablation
CAM_SETTINGS ?= none both generator discriminator

.PHONY: demo serve-demo test venv data bench clean cam-ablation

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

# Paper 001's ablation on the attribute demo task (BUILD_NOTES.md): StarGAN with each
# cam.apply_to for one budget, one reference classifier, one report per run, the table.
cam-ablation: data
	$(BIN)/python -m tfi2i.data.demo_attributes --out=$(ATTR_DATA) --source=$(DATA)
	for cam in $(CAM_SETTINGS); do $(BIN)/python -m tfi2i.train --recipe=recipes/stargan_demo.py --recipe.data.root=$(ATTR_DATA) --recipe.cam.apply_to=$$cam --workdir=$(CAM_RUNS)/$$cam || exit 1; done
	test -f $(CAM_RUNS)/classifier.keras || $(BIN)/python -m tfi2i.attribute_classifier --workdir=$(CAM_RUNS)/$(firstword $(CAM_SETTINGS)) --output=$(CAM_RUNS)/classifier.keras
	for cam in $(CAM_SETTINGS); do $(BIN)/python -m tfi2i.evaluate --workdir=$(CAM_RUNS)/$$cam --classifier=$(CAM_RUNS)/classifier.keras --output=$(CAM_RUNS)/$$cam.json || exit 1; done
	$(BIN)/python -m tfi2i.experiments.cam_ablation $(foreach c,$(CAM_SETTINGS),$(CAM_RUNS)/$(c).json)

clean:
	rm -rf $(VENV) runs
