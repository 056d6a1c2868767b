from setuptools import find_packages, setup

# What the code needs, as ranges, so that mmgmconv installs into an existing
# OpenMMLab environment. The exact tested stacks are in requirements/
# (pinned.txt: the default environment; torch2.1.txt: the lower end), used
# as pip constraints by tools/setup_env.sh.
EXTRAS = {
    # GMResNet for detection, Table V configs, tools/test.py's COCO metric
    'mmdet': ['mmdet>=3.3.0,<3.4', 'pycocotools>=2.0'],
    # classification backbones and configs, the SklearnDigits dataset
    'mmpretrain': ['mmpretrain>=1.2.0,<1.3', 'scikit-learn'],
    # tools/analysis (figures, progress bars)
    'analysis': ['matplotlib', 'tqdm'],
    'timm': ['timm'],
    'deploy': ['onnx', 'onnxruntime'],
    'tensorboard': ['tensorboard'],
    'tests': ['pytest', 'torchvision'],
}
EXTRAS['all'] = sorted({req for reqs in EXTRAS.values() for req in reqs})

setup(
    name='mmgmconv',
    version='0.1.0',
    description='GMConv (Gaussian Mask Convolution) for OpenMMLab',
    long_description=open('README.md', encoding='utf-8').read(),
    long_description_content_type='text/markdown',
    # no syntax or API newer than 3.8; tested on 3.11
    python_requires='>=3.8',
    packages=find_packages(include=['mmgmconv', 'mmgmconv.*']),
    install_requires=[
        'torch>=2.1',
        'mmengine>=0.10,<1.0',
        # with its compiled ops (mmcv, not mmcv-lite); mmdet 3.3 takes <2.2
        'mmcv>=2.1.0,<2.2',
        'numpy',
        # mmengine and mmcv import pkg_resources, removed in setuptools 82
        'setuptools<82',
    ],
    extras_require=EXTRAS,
)
