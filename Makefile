PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
WORKDIR ?= runs/demo
DATA ?= data/demo

# The official PyTorch reference for `make bench`, in its own venv (never a tfi2i dependency).
TORCH_VENV ?= .venv-torch
TORCH_PY ?= $(TORCH_VENV)/bin/python
# 2.13.0: the CPU build pip finds on these machines (download.pytorch.org is not reachable).
TORCH_VERSION ?= 2.13.0
ATTR_DATA ?= data/demo_attributes
# 8: every training tile also turned and mirrored (8x the training images, same test tiles)
ATTR_ORIENTATIONS ?= 1
CAM_RUNS ?= runs/cam_ablation
CAM_EDITORS ?= attgan,stargan,stgan
CAM_SEEDS ?= 0,1,2
# only these cam.apply_to rows (empty: every row; e.g. none,both)
CAM_SETTINGS ?=
CAM_SET ?=
# earlier checkpoints at which every ablation run is scored too (each budget's own table)
CAM_ALSO_AT ?= 500
# runs trained at once, the CPUs split between them (2 on 2 cores: 1.2x the throughput)
CAM_JOBS ?= 1
# pytest-xdist workers for `make test`: the suite is single-threaded Python and TF on tiny
# tensors (user time = wall time), so 2 workers halve it on 2 cores. Whole test files go to
# one worker (--dist loadfile): a module's fixtures are built once.
TEST_WORKERS ?= 2

.PHONY: demo serve-demo test venv data bench torch-venv clean cam-ablation

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
	$(BIN)/python -m tfi2i.score --gallery=$(WORKDIR)/gallery/a_to_b --truth=$(DATA)/testB --label="day to night (a_to_b)"
	$(BIN)/python -m tfi2i.score --gallery=$(WORKDIR)/gallery/b_to_a --truth=$(DATA)/testA --label="night to day (b_to_a)"
	@echo "Galleries with scores: $(WORKDIR)/gallery/a_to_b/scores.html $(WORKDIR)/gallery/b_to_a/scores.html"
	@echo "TensorBoard: $(BIN)/tensorboard --logdir=$(WORKDIR)"

serve-demo: venv
	$(BIN)/python serving/demo.py --workdir=$(WORKDIR) --data=$(DATA)

test: venv
	$(BIN)/python -m pytest -q -n $(TEST_WORKERS) --dist loadfile tests

$(TORCH_VENV)/bin/python:
	$(PY) -m venv $(TORCH_VENV)
	$(TORCH_VENV)/bin/pip install -q torch==$(TORCH_VERSION)
	$(TORCH_VENV)/bin/pip install -q numpy

torch-venv: $(TORCH_VENV)/bin/python

# Side by side with the official PyTorch step (issues 16, 26): every model, each at a size a
# 2-core CPU can time (recipe:px:batch), float32 and mixed_bfloat16, each PyTorch run
# (benchmarks/pytorch_reference/step.py) before and after tfi2i's; --check fails on a missed
# target. TORCH_PY=/path/to/python uses another Python with torch; BENCH_MODELS=... a subset;
# BENCH_PRECISIONS=float32 skips bfloat16 (emulated, slow, on a CPU without AVX512-BF16/AMX).
BENCH_MODELS ?= cyclegan:128:1 pix2pix:128:1 bicyclegan:128:2 ugatit_light:128:1 ugatit:96:1 stargan:64:1 attgan:64:1 stgan:64:1
BENCH_PRECISIONS ?= float32,mixed_bfloat16
BENCH_STEPS ?= 6
bench: venv
	test -x $(TORCH_PY) || $(MAKE) torch-venv
	rc=0; for item in $(BENCH_MODELS); do \
	  recipe=$${item%%:*}; rest=$${item#*:}; size=$${rest%%:*}; batch=$${rest#*:}; \
	  $(BIN)/python -m tfi2i.bench --recipe=recipes/$$recipe.py --sizes=$$size --batch_size=$$batch --precisions=$(BENCH_PRECISIONS) --xla=off --steps=$(BENCH_STEPS) --warmup=2 --compare-pytorch=$(TORCH_PY) --check || rc=1; \
	done; exit $$rc

# Paper 001's ablation on the attribute demo task (BUILD_NOTES.md): AttGAN with each
# cam.apply_to, StarGAN and STGAN with none and both, each seed of CAM_SEEDS, one reference
# classifier; the per-run and mean-and-spread tables (CAM_RUNS/summary.md). Rerunning it
# redoes only what is missing. CAM_SET="train.steps=600" changes every run's recipe.
cam-ablation: data
	$(BIN)/python -m tfi2i.data.demo_attributes --out=$(ATTR_DATA) --source=$(DATA) --orientations=$(ATTR_ORIENTATIONS)
	$(BIN)/python -m tfi2i.experiments.cam_ablation --run=$(CAM_RUNS) --editors=$(CAM_EDITORS) --seeds=$(CAM_SEEDS) --settings=$(CAM_SETTINGS) --also_at=$(CAM_ALSO_AT) --jobs=$(CAM_JOBS) --set=data.root=$(ATTR_DATA) $(foreach s,$(CAM_SET),--set=$(s))

clean:
	rm -rf $(VENV) runs
