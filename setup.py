from setuptools import find_packages, setup

setup(
    name='mmgmconv',
    version='0.1.0',
    description='GMConv (Gaussian Mask Convolution) for OpenMMLab',
    long_description=open('README.md', encoding='utf-8').read(),
    long_description_content_type='text/markdown',
    python_requires='>=3.11,<3.12',
    packages=find_packages(include=['mmgmconv', 'mmgmconv.*']),
    install_requires=[
        'torch==2.14.1',
        'torchvision==0.29.1',
        'mmengine==0.10.7',
        # built with compiled ops by tools/setup_env.sh (no wheel on PyPI)
        'mmcv==2.1.0',
        'mmdet==3.3.0',
        'mmpretrain==1.2.0',
        'pycocotools>=2.0,<2.1',
        'matplotlib',
        'tqdm',
        # mmengine and mmcv import pkg_resources, removed in setuptools 82
        'setuptools>=77.0.3,<82',
    ],
    extras_require={'tests': ['pytest', 'scikit-learn']},
)
