"""The models of every metafile ``model-index.yml`` imports, for the tests
of the metafiles and of their packaging."""
from pathlib import Path

import yaml

ROOT = Path(__file__).parents[1]


def metafile_models():
    index = yaml.safe_load((ROOT / 'model-index.yml').read_text())
    for metafile in index['Import']:
        yield from yaml.safe_load((ROOT / metafile).read_text())['Models']
