VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.mmgmconv-installed

.PHONY: install lint test test-quick test-compat demo demo-seg docs repro-mini

install: $(STAMP)

$(STAMP): setup.py tools/setup_env.sh requirements/pinned.txt
	VENV=$(VENV) bash tools/setup_env.sh
	touch $@

# pycodestyle, pyflakes and import order as configured in ruff.toml
lint: $(STAMP)
	$(VENV)/bin/ruff check .

# pytest-xdist: one worker per core (at most 4: the slow tests train whole
# detectors), each test file on one worker so that its module fixtures (a
# trained detector, a built wheel) are made once. PYTEST_WORKERS=0 runs in
# this process.
PYTEST_WORKERS ?= auto
XDIST := -n $(PYTEST_WORKERS) --maxprocesses 4 --dist loadfile

test: $(STAMP)
	$(PY) -m pytest -q -rf $(XDIST) tests

# The edit-test loop: everything but the tests marked slow (subprocess runs,
# training, whole detectors, torch.compile, many configs; pytest.ini); CI
# runs the full suite.
test-quick: $(STAMP)
	$(PY) -m pytest -q -rf $(XDIST) -m 'not slow' tests

# The lower end: torch 2.1.2 / numpy < 2 in a second venv, the core tests;
# the cross-stack checkpoint test loads each stack's checkpoints in the other.
# On Python 3.8: make test-compat COMPAT_PYTHON=python3.8 COMPAT_VENV=.venv-py38
COMPAT_VENV ?= .venv-compat
COMPAT_PYTHON ?=
COMPAT_STAMP := $(COMPAT_VENV)/.mmgmconv-installed
COMPAT_TESTS := tests/test_ops/test_gaussian_mask.py \
	tests/test_ops/test_gmconv_layers.py tests/test_ops/test_dgm_conv_paths.py \
	tests/test_ops/test_fuse.py tests/test_ops/test_gmconv_nd.py \
	tests/test_models/test_backbones/test_gm_resnet.py \
	tests/test_checkpoint_safety.py tests/test_checkpoint_loading.py \
	tests/test_good_citizen.py \
	tests/test_optional_toolboxes.py tests/test_cross_stack_checkpoints.py \
	"tests/test_configs/test_detection_configs.py::test_config_builds_trains_and_infers[faster-rcnn_r50-gmconv-stem-l1_fpn_1x_coco]" \
	"tests/test_configs/test_classification.py::test_config_builds_and_steps[resnet20-gmconv_1xb128_cifar10]"

$(COMPAT_STAMP): setup.py tools/setup_env.sh $(wildcard requirements/torch2.1*.txt)
	PYTHON=$(COMPAT_PYTHON) VENV=$(COMPAT_VENV) STACK=torch2.1 bash tools/setup_env.sh
	touch $@

test-compat: $(COMPAT_STAMP) $(STAMP)
	MMGMCONV_OTHER_STACK_PYTHON=$(abspath $(PY)) \
	  $(COMPAT_VENV)/bin/python -m pytest -q -rfs $(COMPAT_TESTS)

# The main job: train a small GMConv Faster R-CNN on the embedded shapes
# dataset (CPU, a few minutes) and print its COCO bbox AP.
DEMO_CFG := configs/demo/faster-rcnn_r18-gmconv-tiny_fpn_shapes.py
DEMO_DIR := work_dirs/demo

demo: $(DEMO_DIR)/epoch_12.pth
	$(PY) tools/test.py $(DEMO_CFG) $< --work-dir $(DEMO_DIR)
	$(PY) tools/image_demo.py data/shapes_coco/val/0000[1-4].png $(DEMO_CFG) \
		--weights $< --out-dir $(DEMO_DIR)/image_demo

# --overwrite: make retrains when epoch_12.pth is missing or older than the
# config or the venv; an earlier demo run's checkpoints are then replaced.
$(DEMO_DIR)/epoch_12.pth: $(STAMP) $(DEMO_CFG)
	$(PY) tools/dataset/make_shapes_coco.py
	$(PY) tools/train.py $(DEMO_CFG) --work-dir $(DEMO_DIR) --overwrite

# The manual (docs/) as HTML in docs/_build/html; warnings (broken internal
# links and references included) are errors.
docs: $(STAMP)
	$(PY) -m sphinx -W --keep-going -n -b html docs docs/_build/html

# Table V's path in miniature on CPU (tools/reproduce.py mini): a plain and a
# GMConv ResNet-50 (8 base channels) pretrained on scikit-learn's digits, the 14
# detectors of Table V's rows started from them (fold on load for the
# partial rows), trained briefly on the shapes dataset, tested and collected
# into a Table V-shaped table (work_dirs/repro-mini/results.md). The numbers
# show the chain works, not the paper's results. `python tools/reproduce.py
# V` prints the same steps for ImageNet and COCO;
# tests/test_tools/test_repro_mini.py runs two of the rows on less data in CI.
repro-mini: $(STAMP)
	$(PY) tools/reproduce.py mini --run --seeds 0

# The segmentation demo: train a small GMConv DeepLabV3+ on the embedded
# shapes dataset's masks (CPU, a few minutes) and print its mIoU (mmseg's
# IoUMetric), then draw its masks on four validation images.
SEG_DEMO_CFG := configs/demo/deeplabv3plus_r18-gmconv-tiny_shapes.py
SEG_DEMO_DIR := work_dirs/demo-seg

demo-seg: $(SEG_DEMO_DIR)/iter_600.pth
	$(PY) tools/test.py $(SEG_DEMO_CFG) $< --work-dir $(SEG_DEMO_DIR) --overwrite
	$(PY) tools/image_demo.py data/shapes_coco/val/0000[1-4].png \
		$(SEG_DEMO_CFG) --weights $< --out-dir $(SEG_DEMO_DIR)/image_demo

$(SEG_DEMO_DIR)/iter_600.pth: $(STAMP) $(SEG_DEMO_CFG)
	$(PY) tools/dataset/make_shapes_coco.py
	$(PY) tools/train.py $(SEG_DEMO_CFG) --work-dir $(SEG_DEMO_DIR) --overwrite
