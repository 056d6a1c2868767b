"""Register mmgmconv's mmdet / mmpretrain / mmseg modules without importing
them.

Our backbones and datasets subclass the toolboxes' own classes, so importing
them imports ``mmdet.models`` or ``mmpretrain.models`` (most of the cost of
importing mmgmconv; ``tools/analysis/benchmark_import.py`` times it).
mmengine registries already import their toolbox's modules lazily: a
registry's ``locations`` are imported the first time it is searched. We add
our modules to those locations, so ``custom_imports=dict(imports=
['mmgmconv'])`` still makes ``type='GMResNet'`` buildable, ``import
mmgmconv`` stays cheap, and a missing toolbox just leaves its parts out.

``Registry`` has no public way to add a location: we use its
``_locations`` and ``_imported`` (mmengine 0.10; both paths are tested in
``tests/test_optional_toolboxes.py``).
"""
from importlib import import_module
from typing import Sequence


def register_on_first_use(toolbox: str, registry_name: str,
                          modules: Sequence[str]) -> bool:
    """Have ``toolbox``'s registry import ``modules`` when first searched.

    Args:
        toolbox: ``'mmdet'``, ``'mmpretrain'`` or ``'mmseg'`` (any package
            with a
            ``registry`` module of mmengine registries).
        registry_name: e.g. ``'MODELS'``, ``'DATASETS'``.
        modules: dotted names of the modules that register into it.

    Returns:
        ``False`` when ``toolbox`` is not installed (nothing registered),
        ``True`` otherwise. A toolbox that is installed but fails to import
        raises its own error.
    """
    try:
        registry = getattr(import_module(f'{toolbox}.registry'), registry_name)
    except ModuleNotFoundError as error:
        if error.name == toolbox:
            return False
        raise
    if registry._imported:
        # The registry has already imported its locations: import ours now.
        for module in modules:
            import_module(module)
    else:
        # A new list: registries made without locations share one default.
        registry._locations = [*registry._locations] + [
            m for m in modules if m not in registry._locations]
    return True
