"""``import mmgmconv`` registers GMConv and changes nothing else in the
user's process (issue 27); the project's checkpoint policy is an explicit
opt-in that every tool makes first thing. Each snapshot is taken in a fresh
interpreter, on both torch stacks (``make test-compat`` runs this file)."""
import ast
import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import pytest
from mmengine.registry import MODELS

ROOT = Path(__file__).parents[1]

# Prints a JSON snapshot of what a plugin could change in a process:
# mmengine's checkpoint loaders, torch's weights_only allow-list, global
# torch settings, every registry's entries (mmengine's and, when
# TOOLBOXES names them, the toolboxes'), mmengine's file backends, and the
# modules imported.
SNAPSHOT = r'''
import json, sys, warnings
from importlib import import_module
import torch
from mmengine.fileio.backends import backends
from mmengine.registry import Registry
from mmengine.runner.checkpoint import CheckpointLoader

TOOLBOXES = {toolboxes!r}
for toolbox in TOOLBOXES:
    import_module(toolbox + '.registry')


def registries():
    modules = ['mmengine.registry'] + [t + '.registry' for t in TOOLBOXES]
    for module in modules:
        for name, value in vars(import_module(module)).items():
            if isinstance(value, Registry):
                yield f'{{module}}.{{name}}', value


def name(obj):
    return f'{{getattr(obj, "__module__", "")}}.' + getattr(
        obj, '__qualname__', repr(obj))


def snapshot():
    safe = (torch.serialization.get_safe_globals()
            if hasattr(torch.serialization, 'get_safe_globals') else [])
    return dict(
        loaders={{k: name(v) for k, v in CheckpointLoader._schemes.items()}},
        safe_globals=sorted(map(repr, safe)),
        torch=[str(torch.get_default_dtype()), torch.is_grad_enabled(),
               torch.are_deterministic_algorithms_enabled(),
               torch.get_num_threads()],
        warning_filters=len(warnings.filters),
        registries={{key: {{k: name(v) for k, v in reg.module_dict.items()}}
                    for key, reg in registries()}},
        backends={{k: v.__module__ for k, v in backends.items()}},
        modules=sorted(sys.modules))


before = snapshot()
{statement}
print(json.dumps(dict(before=before, after=snapshot())))
'''


def snapshots(statement, toolboxes=()):
    out = subprocess.run(
        [sys.executable, '-c', SNAPSHOT.format(statement=statement,
                                                toolboxes=list(toolboxes))],
        cwd=ROOT, check=True, capture_output=True, text=True).stdout
    result = json.loads(out.strip().splitlines()[-1])
    return result['before'], result['after']


def added(before: dict, after: dict) -> dict:
    """The entries ``after`` has beyond ``before``; asserts that every entry
    of ``before`` is unchanged."""
    for key, value in before.items():
        assert after[key] == value, f'{key}: {value} became {after[key]}'
    return {k: v for k, v in after.items() if k not in before}


STATEMENTS = {
    'import': 'import mmgmconv',
    'custom_imports': "from mmengine.utils import import_modules_from_strings"
                      "\nimport_modules_from_strings(['mmgmconv'])",
}


@pytest.mark.parametrize('statement', STATEMENTS.values(),
                         ids=STATEMENTS.keys())
def test_import_changes_nothing_but_registers_gmconv(statement):
    before, after = snapshots(statement)
    for key in ('loaders', 'safe_globals', 'torch', 'warning_filters'):
        assert after[key] == before[key], key
    assert set(added(before['backends'], after['backends']).values()) == {
        'mmgmconv.engine.atomic_local_backend'}
    for name, entries in before['registries'].items():
        new = added(entries, after['registries'][name])
        assert all(v.startswith('mmgmconv.') for v in new.values()), new
    assert {'SGMConv', 'DGMConv'} <= set(
        after['registries']['mmengine.registry.MODELS'])
    assert {'CrashSafeCheckpointHook', 'StopOnNonFiniteLossHook',
            'SigmaLoggerHook'} <= set(
        after['registries']['mmengine.registry.HOOKS'])
    # no toolbox imported, let alone its API layer (inferencers, apis)
    toolboxes = ('mmdet', 'mmpretrain', 'mmseg')
    assert not [m for m in after['modules'] if m.split('.')[0] in toolboxes]


#: the toolboxes of this environment (the torch 2.1 stack has no mmseg)
INSTALLED = tuple(t for t in ('mmdet', 'mmpretrain', 'mmseg')
                  if importlib.util.find_spec(t) is not None)
ENTRIES = {'mmdet.registry.MODELS': {'GMResNet'},
           'mmpretrain.registry.MODELS': {'GMResNet', 'GMResNet_CIFAR',
                                          'GMAlexNet', 'GMMobileNetV2'},
           'mmpretrain.registry.DATASETS': {'SklearnDigits'},
           'mmseg.registry.MODELS': {'GMResNetV1c'}}


@pytest.mark.slow
def test_toolbox_registries_change_only_through_their_entry_module():
    toolboxes = INSTALLED
    before, after = snapshots('import mmgmconv', toolboxes)
    for name, entries in before['registries'].items():
        new = added(entries, after['registries'][name])
        # mmengine's root registries (which toolboxes re-export) only
        assert all(v.startswith(('mmgmconv.ops.', 'mmgmconv.engine.'))
                   for v in new.values()), (name, new)
    statement = '\n'.join(f'import mmgmconv.toolboxes.{t}' for t in toolboxes)
    before, after = snapshots(statement, toolboxes)
    # (importing the backbones imports the toolbox's own models too)
    new = {name: {k for k, v in added(entries,
                                      after['registries'][name]).items()
                  if v.startswith('mmgmconv.')}
           for name, entries in before['registries'].items()}
    for name, entries in ENTRIES.items():
        if name.split('.')[0] in toolboxes:
            assert new[name] == entries, name
    assert after['loaders'] == before['loaders']


def test_policy_is_installed_only_on_request():
    before, after = snapshots('import mmgmconv.safe_checkpoints')
    assert set(after['loaders']) == set(before['loaders'])
    assert all(v.startswith('mmgmconv.checkpoint_safety.')
               for v in after['loaders'].values())


#: The tools that import mmgmconv and run as a program (a main()); those
#: that only time or tabulate read no checkpoint.
TOOLS = sorted(p for p in ROOT.glob('tools/**/*.py')
               if 'mmgmconv' in p.read_text()
               and 'def main(' in p.read_text()
               and p.name not in ('benchmark.py', 'benchmark_import.py',
                                  'collect_results.py', 'plot_fig6.py',
                                  'make_shapes_coco.py'))


@pytest.mark.parametrize('tool', TOOLS, ids=lambda p: p.name)
def test_every_tool_installs_the_policy_first_thing(tool):
    main = next(node for node in ast.parse(tool.read_text()).body
                if isinstance(node, ast.FunctionDef) and node.name == 'main')
    first = main.body[0]
    assert isinstance(first, ast.Expr) and ast.unparse(first) == \
        'install_checkpoint_policy()', tool


def test_every_registered_conv_name_is_a_class():
    """mmcv's own registry test builds every registered conv: a function
    there trips it."""
    import mmgmconv  # noqa: F401
    ours = {k: v for k, v in MODELS.module_dict.items()
            if v.__module__.startswith('mmgmconv.')}
    assert {'SGMConv', 'DGMConv'} <= set(ours)
    assert all(isinstance(v, type) for v in ours.values()), ours


def test_no_private_mmengine_name_in_the_package():
    pattern = __import__('re').compile(r'\bmmengine[\w.]*\._[A-Za-z]|'
                                       r'\._(locations|imported|schemes)\b')
    found = [f'{p}:{n}' for p in (ROOT / 'mmgmconv').rglob('*.py')
             for n, line in enumerate(p.read_text().splitlines(), 1)
             if pattern.search(line)]
    assert found == []
