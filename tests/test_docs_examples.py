"""Every code example of README.md and docs/ runs, or says why it is not run.

Each ``python`` / ``bash`` (``sh``, ``shell``, ``console``) fence in
``README.md`` and ``docs/**/*.md`` follows an HTML comment that says what
becomes of it (the comment is invisible on GitHub and in the built manual)::

    <!-- example: run -->                 run here, in a subprocess (``run
                                          slow``: marked slow; an example that
                                          imports torch takes seconds)
    <!-- example: config configs/gmconv --> a config file placed in that
                                          folder: loaded and its model built
    <!-- example: covered-by tests/test_x.py::test_y -->
                                          run by that existing test
    <!-- example: needs gpu coco -->      not runnable here; what it needs,
                                          from NEEDS
    <!-- example: synopsis -->            a command line with placeholders

Blocks that are not run are still checked statically: the repository
files they name (``tools/``, ``configs/``, ``examples/``, ``requirements/``)
exist, every ``--option`` given to a ``tools/*.py`` script appears in that
script or among the options all tools share (``mmgmconv/utils/tool_args.py``),
and every ``make`` target is in the Makefile. Links between the
Markdown files point at existing files and headings (GitHub's anchors).
"""
import ast
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[1]
RUNNABLE = {'python', 'py', 'bash', 'sh', 'shell', 'console'}
NEEDS = {
    'gpu': 'CUDA GPUs',
    'coco': 'COCO 2017 in data/coco',
    'imagenet': 'ImageNet in data/imagenet',
    'cifar': 'CIFAR in data/cifar10, data/cifar100',
    'checkpoint': 'a trained checkpoint',
    'network': 'a package index or the internet',
    'minutes': 'minutes of CPU (set-up, the demo, the test suite)',
}
MARKER = re.compile(r'^<!--\s*example:\s*(.*?)\s*-->$')
FENCE = re.compile(r'^(\s*)(```+|~~~+)\s*([^\s`]*)')


def markdown_files():
    return [ROOT / 'README.md'] + sorted(
        p for p in (ROOT / 'docs').rglob('*.md') if '_build' not in p.parts)


def code_blocks(path):
    """``[(line, language, marker or None, code)]`` of one Markdown file."""
    blocks, lines = [], path.read_text(encoding='utf-8').splitlines()
    i = 0
    while i < len(lines):
        match = FENCE.match(lines[i])
        if not match:
            i += 1
            continue
        indent, fence, lang = match.groups()
        start, body = i, []
        i += 1
        while i < len(lines) and not lines[i].strip().startswith(fence):
            body.append(lines[i][len(indent):])
            i += 1
        i += 1
        prev = start - 1
        while prev >= 0 and not lines[prev].strip():
            prev -= 1
        marker = MARKER.match(lines[prev].strip()) if prev >= 0 else None
        blocks.append((start + 1, lang.lower(), marker and marker.group(1),
                       '\n'.join(body) + '\n'))
    return blocks


def all_blocks():
    for path in markdown_files():
        for line, lang, marker, code in code_blocks(path):
            if lang in RUNNABLE:
                yield f'{path.relative_to(ROOT)}:{line}', lang, marker, code


BLOCKS = list(all_blocks())


def parse_marker(marker):
    """``(kind, args)``; raises ``ValueError`` naming what is allowed."""
    kind, *args = marker.split()
    if kind == 'run' and args in ([], ['slow']):
        return kind, args
    if kind == 'config' and len(args) in (1, 2) and args[1:] in ([], ['slow']):
        return kind, args
    if kind == 'covered-by' and len(args) == 1 and '::' in args[0]:
        return kind, args
    if kind == 'needs' and args and set(args) <= set(NEEDS):
        return kind, args
    if kind == 'synopsis' and not args:
        return kind, args
    raise ValueError(
        f'bad example marker {marker!r}; allowed: "run [slow]", '
        '"config DIR [slow]", "covered-by tests/FILE.py::TEST", '
        f'"needs RESOURCE ..." (resources: {", ".join(NEEDS)}), "synopsis"')


def test_every_block_is_marked_and_markers_are_valid():
    problems = []
    for where, lang, marker, _ in BLOCKS:
        if marker is None:
            problems.append(f'{where}: {lang} block without an '
                            '"<!-- example: ... -->" marker')
            continue
        try:
            parse_marker(marker)
        except ValueError as err:
            problems.append(f'{where}: {err}')
    assert not problems, '\n'.join(problems)


def defined_functions(path):
    tree = ast.parse(path.read_text(encoding='utf-8'))
    return {node.name for node in ast.walk(tree)
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))}


def covered_by_problem(node):
    """Why ``tests/FILE.py::TEST[PARAM]`` names no existing test, or None."""
    file, _, name = node.partition('::')
    name = name.split('[')[0]
    if not (ROOT / file).is_file():
        return f'{node}: no file {file}'
    if not name.startswith('test_') or name not in defined_functions(
            ROOT / file):
        return f'{node}: no test {name} in {file}'
    return None


def test_covered_by_names_an_existing_test():
    problems = []
    for where, _, marker, _ in BLOCKS:
        if marker and marker.startswith('covered-by'):
            problem = covered_by_problem(marker.split()[1])
            if problem:
                problems.append(f'{where}: {problem}')
    assert not problems, '\n'.join(problems)


def make_targets():
    text = (ROOT / 'Makefile').read_text()
    return set(re.findall(r'^([\w.-]+)\s*:(?!=)', text, re.M))


def static_problems(code):
    """Missing files, unknown tool options and make targets in shell code."""
    problems = []
    joined = re.sub(r'\\\n', ' ', code)
    for line in joined.splitlines():
        line = line.split('#')[0]
        words = re.sub(r'[\[\]]', ' ', line).split()
        for word in words:
            word = word.strip('"\'')
            if re.match(r'(tools|configs|examples|requirements)/', word) \
                    and not re.search(r'[A-Z]{3,}|\*', word) \
                    and not (ROOT / word).exists():
                problems.append(f'no file {word}')
        if words[:1] == ['make']:
            for target in words[1:]:
                if '=' not in target and target not in make_targets():
                    problems.append(f'no make target {target}')
        tools = [w for w in words if re.match(r'tools/.*\.py$', w)]
        if tools and (ROOT / tools[0]).is_file():
            # the tool's own options and the ones all tools share
            source = (ROOT / tools[0]).read_text(encoding='utf-8') + (
                ROOT / 'mmgmconv/utils/tool_args.py').read_text()
            for option in re.findall(r'(?<![\w-])(--[a-z][\w-]*)', line):
                if f"'{option}'" not in source and \
                        f'"{option}"' not in source:
                    problems.append(f'{tools[0]} has no option {option}')
    return problems


@pytest.mark.parametrize(
    'where,code', [(w, c) for w, lang, _, c in BLOCKS
                   if lang not in ('python', 'py')],
    ids=[w for w, lang, _, _ in BLOCKS if lang not in ('python', 'py')])
def test_shell_block_names_existing_files_options_and_targets(where, code):
    assert not static_problems(code), (where, static_problems(code))


def github_anchor(heading):
    """The anchor GitHub (and MyST's heading anchors) give a heading."""
    text = re.sub(r'[`*]', '', heading.strip().lower())
    return re.sub(r'[^\w\- ]', '', text).replace(' ', '-')


def anchors(path):
    text = re.sub(r'```.*?```', '', path.read_text(encoding='utf-8'),
                  flags=re.S)
    return {github_anchor(h) for h in re.findall(r'^#+ (.*)$', text, re.M)}


def test_links_point_at_existing_files_and_headings():
    problems = []
    for path in markdown_files():
        text = re.sub(r'```.*?```', '', path.read_text(encoding='utf-8'),
                      flags=re.S)
        for target in re.findall(r'\]\(([^)\s]+)\)', text):
            if re.match(r'\w+://', target):
                continue
            file, _, anchor = target.partition('#')
            dest = (path.parent / file).resolve() if file else path
            if not dest.exists():
                problems.append(f'{path.relative_to(ROOT)}: {target}: '
                                'no such file')
            elif anchor and dest.suffix == '.md' and \
                    anchor not in anchors(dest):
                problems.append(f'{path.relative_to(ROOT)}: {target}: '
                                f'no heading with anchor #{anchor}')
    assert not problems, '\n'.join(problems)


@pytest.fixture
def workspace(tmp_path):
    """A scratch copy of the repository's layout: examples write into it,
    configs are copied (config examples are placed among them), the rest
    is linked; the package comes from ``PYTHONPATH``."""
    for entry in ROOT.iterdir():
        if entry.name in ('configs', 'work_dirs', 'data') or \
                entry.name.startswith('.'):
            continue
        (tmp_path / entry.name).symlink_to(entry)
    shutil.copytree(ROOT / 'configs', tmp_path / 'configs')
    (tmp_path / 'work_dirs').mkdir()
    return tmp_path


def run_params(kinds):
    params = []
    for where, lang, marker, code in BLOCKS:
        try:
            kind, args = parse_marker(marker or '')
        except ValueError:
            continue
        if kind in kinds:
            marks = [pytest.mark.slow] if 'slow' in args else []
            params.append(pytest.param(where, lang, args, code, id=where,
                                       marks=marks))
    return params


@pytest.mark.parametrize('where,lang,args,code', run_params({'run'}))
def test_run_example(where, lang, args, code, workspace):
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(
        [str(ROOT)] + [p for p in [os.environ.get('PYTHONPATH')] if p]))
    env['PATH'] = os.pathsep.join([str(Path(sys.executable).parent),
                                   env.get('PATH', '')])
    if lang in ('python', 'py'):
        script, cmd = workspace / 'example.py', [sys.executable]
    else:
        script, cmd = workspace / 'example.sh', ['bash', '-euo', 'pipefail']
    script.write_text(code)
    result = subprocess.run(cmd + [str(script)], cwd=workspace, env=env,
                            capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, (
        f'{where} failed:\n{code}\n{result.stdout[-3000:]}'
        f'\n{result.stderr[-3000:]}')


@pytest.mark.parametrize('where,lang,args,code', run_params({'config'}))
def test_config_example_builds(where, lang, args, code, workspace):
    from mmgmconv import DGMConv, SGMConv
    from mmgmconv.apis import build_model_from_config

    folder = workspace / args[0]
    assert folder.is_dir(), f'{where}: no folder {args[0]}'
    config = folder / '_docs_example.py'
    config.write_text(code)
    model = build_model_from_config(str(config))
    if 'GMConv' in code or 'gmconv' in code:
        assert any(isinstance(m, (SGMConv, DGMConv))
                   for m in model.modules()), f'{where}: no GMConv layer'
    # the GMConv an example adds trains (frozen_stages would freeze it at
    # its initial values), unless its code says it stays frozen
    model.train()
    frozen = [f'{name}.{p}' for name, m in model.named_modules()
              if isinstance(m, (SGMConv, DGMConv))
              for p, param in m.named_parameters()
              if p not in ('weight', 'bias') and not param.requires_grad]
    assert not frozen or 'GMConv stays frozen' in code, (
        f'{where}: frozen GMConv parameters {frozen[:4]}')


def test_checks_catch_drift(tmp_path):
    """The checks above fail on the kinds of drift they are for."""
    assert static_problems('python tools/analysis/benchmark.py '
                           '--skip-detector\n') == [
        'tools/analysis/benchmark.py has no option --skip-detector']
    assert static_problems('python tools/train.py configs/nope.py\n') == [
        'no file configs/nope.py']
    assert static_problems('make nope\n') == ['no make target nope']
    assert static_problems('python tools/train.py CONFIG [--work-dir DIR] '
                           '\\\n    [--resume]\n') == []
    for marker in ('run fast', 'needs a-gpu', 'covered-by test_x', 'config'):
        with pytest.raises(ValueError, match='allowed'):
            parse_marker(marker)
    assert covered_by_problem('tests/test_nope.py::test_x') == \
        'tests/test_nope.py::test_x: no file tests/test_nope.py'
    assert 'no test test_nope' in covered_by_problem(
        'tests/test_docs_examples.py::test_nope[a]')
    assert covered_by_problem(
        'tests/test_docs_examples.py::test_checks_catch_drift') is None
    page = tmp_path / 'page.md'
    page.write_text('# A page\n\n<!-- example: run -->\n```python\nx = 1\n'
                    '```\n\ntext\n```bash\nls\n```\n```text\nout\n```\n')
    assert [(line, lang, marker) for line, lang, marker, _ in
            code_blocks(page)] == [(4, 'python', 'run'), (9, 'bash', None),
                                   (12, 'text', None)]
    assert anchors(page) == {'a-page'}
    assert github_anchor('`frozen_stages` freezes GMConv, too') == \
        'frozen_stages-freezes-gmconv-too'
