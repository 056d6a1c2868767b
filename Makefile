VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.mmgmconv-installed

.PHONY: install test demo

install: $(STAMP)

$(STAMP): setup.py tools/setup_env.sh
	VENV=$(VENV) bash tools/setup_env.sh
	touch $@

test: $(STAMP)
	$(PY) -m pytest -q -rf tests

# The main job: train a small GMConv Faster R-CNN on the embedded shapes
# dataset (CPU, a few minutes) and print its COCO bbox AP.
DEMO_CFG := configs/demo/faster-rcnn_r18-gmconv-tiny_fpn_shapes.py
DEMO_DIR := work_dirs/demo

demo: $(DEMO_DIR)/epoch_12.pth
	$(PY) tools/test.py $(DEMO_CFG) $< --work-dir $(DEMO_DIR)
	$(PY) tools/image_demo.py data/shapes_coco/val/0000[1-4].png $(DEMO_CFG) \
		--weights $< --out-dir $(DEMO_DIR)/image_demo

$(DEMO_DIR)/epoch_12.pth: $(STAMP) $(DEMO_CFG)
	$(PY) tools/dataset/make_shapes_coco.py
	$(PY) tools/train.py $(DEMO_CFG) --work-dir $(DEMO_DIR)
