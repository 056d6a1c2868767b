import os
import os.path as osp
import shutil
import sys

from setuptools import find_packages, setup


def add_mim_extension():
    """Put model-index.yml, configs/ and tools/ into ``mmgmconv/.mim``.

    This is how mmdet and mmpretrain ship their model zoo to openmim: ``mim
    search mmgmconv`` reads ``<package>/.mim/model-index.yml`` (whose
    metafiles name the configs), and ``mim train``/``mim test``/``mim run``
    find their scripts under ``.mim/tools``. Copies go into wheels and sdists.
    An editable install (``pip install -e .``: a legacy ``setup.py develop``
    or PEP 660's ``editable_wheel``) gets symlinks into the checkout, so that
    they never go stale; openmim 0.3.9 finds them only with the checkout on
    ``PYTHONPATH`` (it looks for the package next to its dist-info, in
    site-packages), see docs/user_guides/reproduce_paper.md.
    """
    if 'develop' in sys.argv or 'editable_wheel' in sys.argv:
        mode = 'symlink'
    elif 'sdist' in sys.argv or 'bdist_wheel' in sys.argv:
        mode = 'copy'
    else:
        return
    repo_path = osp.dirname(osp.abspath(__file__))
    mim_path = osp.join(repo_path, 'mmgmconv', '.mim')
    os.makedirs(mim_path, exist_ok=True)
    for name in ('configs', 'tools', 'model-index.yml'):
        src_path = osp.join(repo_path, name)
        tar_path = osp.join(mim_path, name)
        if osp.isfile(tar_path) or osp.islink(tar_path):
            os.remove(tar_path)
        elif osp.isdir(tar_path):
            shutil.rmtree(tar_path)
        if mode == 'symlink':
            os.symlink(osp.relpath(src_path, mim_path), tar_path)
        elif osp.isfile(src_path):
            shutil.copyfile(src_path, tar_path)
        else:
            shutil.copytree(src_path, tar_path)


# What the code needs, as ranges, so that mmgmconv installs into an existing
# OpenMMLab environment. The exact tested stacks are in requirements/
# (pinned.txt: the default environment; torch2.1.txt: the lower end), used
# as pip constraints by tools/setup_env.sh.
EXTRAS = {
    # GMResNet for detection, Table V configs, tools/test.py's COCO metric
    'mmdet': ['mmdet>=3.3.0,<3.4', 'pycocotools>=2.0'],
    # classification backbones and configs, the SklearnDigits dataset
    'mmpretrain': ['mmpretrain>=1.2.0,<1.3', 'scikit-learn'],
    # GMResNetV1c for segmentation, configs/segmentation; mmseg 1.2 imports
    # ftfy, regex and prettytable without declaring them
    'mmseg': ['mmsegmentation>=1.2.2,<1.3', 'ftfy', 'regex', 'prettytable'],
    # tools/analysis (figures, progress bars)
    'analysis': ['matplotlib', 'tqdm'],
    'timm': ['timm'],
    'deploy': ['onnx', 'onnxruntime'],
    'tensorboard': ['tensorboard'],
    # make test runs the suite on every core (pytest-xdist's -n)
    'tests': ['pytest', 'pytest-xdist', 'torchvision'],
    # make lint (ruff.toml)
    'lint': ['ruff'],
    # the manual: make docs (sphinx-build with MyST Markdown)
    'docs': ['sphinx', 'myst-parser'],
}
EXTRAS['all'] = sorted({req for reqs in EXTRAS.values() for req in reqs})


def get_version():
    """``__version__`` of mmgmconv/version.py, read without importing the
    package (whose imports need torch and mmcv), as mmdet's setup.py does."""
    version_file = osp.join(osp.dirname(osp.abspath(__file__)), 'mmgmconv',
                            'version.py')
    namespace = {}
    with open(version_file, encoding='utf-8') as f:
        exec(compile(f.read(), version_file, 'exec'), namespace)
    return namespace['__version__']


add_mim_extension()
setup(
    name='mmgmconv',
    version=get_version(),
    description='GMConv (Gaussian Mask Convolution) for OpenMMLab',
    long_description=open('README.md', encoding='utf-8').read(),
    long_description_content_type='text/markdown',
    # no syntax or API newer than 3.8; tested on 3.11
    python_requires='>=3.8',
    packages=find_packages(include=['mmgmconv', 'mmgmconv.*']),
    # mmgmconv/.mim (add_mim_extension), listed in MANIFEST.in
    include_package_data=True,
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
