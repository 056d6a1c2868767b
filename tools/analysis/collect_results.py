"""Reproduced metrics against the paper's, with mean and spread over runs.

    python tools/analysis/collect_results.py WORK_DIR [WORK_DIR ...] [--out F]
        [--table V]

A WORK_DIR holds ``metrics.json`` (written by tools/test.py) or, for a
tools/train_seeds.py sweep, ``seed_*/metrics.json``. Runs are grouped by
config (the path tools/test.py recorded; configs of the same file name in
different folders are separate rows, labelled with their paths); each
group gets one row with the number of runs, the mean and sample standard
deviation of each metric, the paper's number (from the metafiles listed in
model-index.yml, matched by config file name) and mean minus paper.
``--table V`` lays detection runs out as the paper's Table V instead
(rows: baseline, Stem L1 .. L1-L4, DCN, GMConv-DCN; AP, APs, APm, APl of
Faster and Cascade R-CNN), each cell the mean ± std beside the paper's
number.

A metrics.json that cannot be read, is empty or partial (not JSON, no
``config`` or ``metrics``, a metric that is not a finite number) is not
counted: a warning on stderr names it and says why. It is an error when no
run is left. A COCO metric of -1 (mmdet's value when the test set has no
object of that size) is left out of its mean, with a warning.

Needs only PyYAML: no torch, no OpenMMLab toolbox (``--out`` is written
with mmgmconv/atomic_write.py, loaded by its path).
"""
import argparse
import importlib.util
import json
import math
import os.path as osp
import re
import statistics
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]

#: Evaluator key in metrics.json -> metric name in the metafiles, and the
#: factor to the paper's unit (mmdet gives COCO AP as a fraction).
METAFILE_METRICS = {
    'coco/bbox_mAP': ('box AP', 100),
    'coco/bbox_mAP_50': ('box AP50', 100),
    'coco/bbox_mAP_75': ('box AP75', 100),
    'coco/bbox_mAP_s': ('box APs', 100),
    'coco/bbox_mAP_m': ('box APm', 100),
    'coco/bbox_mAP_l': ('box APl', 100),
    'accuracy/top1': ('Top 1 Accuracy', 1),
    'accuracy/top5': ('Top 5 Accuracy', 1),
}


def _read_yaml(path, key):
    """``yaml[key]`` of ``path``; errors name the file."""
    try:
        return yaml.safe_load(Path(path).read_text())[key]
    except (OSError, yaml.YAMLError, KeyError, TypeError) as err:
        raise ValueError(f'{path}: cannot read its {key!r} list ('
                         f'{type(err).__name__}: {err})') from None


def paper_numbers(model_index=ROOT / 'model-index.yml'):
    """``{config file name: {metric: paper value}}`` from the metafiles."""
    model_index = Path(model_index)
    papers = {}
    for metafile in _read_yaml(model_index, 'Import'):
        path = model_index.parent / metafile
        for model in _read_yaml(path, 'Models'):
            name = osp.basename(model['Config'])
            if name in papers:
                raise ValueError(f'{path}: config {name} is listed twice '
                                 'in the metafiles')
            metrics = {}
            for result in model.get('Results') or []:
                metrics.update(result['Metrics'])
            papers[name] = metrics
    return papers


def find_runs(work_dir):
    """The ``metrics.json`` files of one work dir or of its seed runs."""
    work_dir = Path(work_dir)
    if (work_dir / 'metrics.json').is_file():
        return [work_dir / 'metrics.json']
    runs = sorted(work_dir.glob('seed_*/metrics.json'))
    if not runs:
        raise FileNotFoundError(
            f'neither {work_dir}/metrics.json nor {work_dir}/seed_*/'
            'metrics.json exists: run tools/test.py (or tools/train_seeds.py)'
            f' with --work-dir {work_dir} first')
    return runs


def read_run(path):
    """``(config, {metrics.json key: value})`` of one metrics.json.

    Raises:
        ValueError: naming ``path`` and what is wrong with it (unreadable,
            empty, not JSON, partial or not a tools/test.py result).
    """
    def invalid(why):
        return ValueError(f'{path}: {why}')

    try:
        text = Path(path).read_text()
    except (OSError, UnicodeDecodeError) as err:
        raise invalid(f'cannot be read ({err})') from None
    if not text.strip():
        raise invalid('it is empty (a run cut short while writing it?)')
    try:
        run = json.loads(text)
    except json.JSONDecodeError as err:
        raise invalid(f'it is not complete JSON ({err})') from None
    if not isinstance(run, dict):
        raise invalid('it holds no object with "config" and "metrics"')
    config, metrics = run.get('config'), run.get('metrics')
    if not isinstance(config, str) or not config:
        raise invalid('it names no config ("config")')
    if not isinstance(metrics, dict) or not metrics:
        raise invalid('it holds no metrics ("metrics")')
    for key, value in metrics.items():
        if key in METAFILE_METRICS and (
                isinstance(value, bool)
                or not isinstance(value, (int, float))
                or not math.isfinite(value)):
            raise invalid(f'metric {key!r} is {value!r}, not a finite '
                          'number')
    return config, metrics


def load_run(path):
    """``(config, {metafile metric: value in the paper's unit})``.

    ``config`` is the path tools/test.py recorded, normalised (relative to
    the repository when it lies inside it). Raises ``ValueError`` naming
    ``path`` when the file is not a complete result (:func:`read_run`).
    """
    config, metrics = read_run(path)
    measured = {}
    for key, value in metrics.items():
        if key not in METAFILE_METRICS:
            continue
        if key.startswith('coco/') and value == -1:
            warn(f'{path}: {key} is -1 (the test set has no object of that '
                 'kind): left out')
            continue
        name, scale = METAFILE_METRICS[key]
        measured[name] = value * scale
    if not measured:
        raise ValueError(f'{path}: it holds none of the metrics reported '
                         f'here ({", ".join(METAFILE_METRICS)})')
    config = osp.normpath(config)
    if osp.isabs(config) and osp.commonpath([config, str(ROOT)]) == str(
            ROOT):
        config = osp.relpath(config, ROOT)
    return config, measured


def load_runs(paths):
    """:func:`load_run` of each path; the unusable ones are left out with a
    warning naming them. Raises ``ValueError`` when none is left."""
    runs = []
    for path in paths:
        try:
            runs.append(load_run(path))
        except ValueError as err:
            warn(f'{err}: not counted')
    if not runs:
        raise ValueError('no usable metrics.json among ' +
                         ', '.join(map(str, paths)))
    return runs


def warn(message):
    print(f'warning: {message}', file=sys.stderr)


def summarise(values):
    """``(mean, sample standard deviation or None for one run, count)``."""
    mean = statistics.fmean(values)
    std = statistics.stdev(values) if len(values) > 1 else None
    return mean, std, len(values)


def results_table(runs, papers):
    """Markdown table: one row per config of ``runs`` (``load_run`` pairs).

    A row is labelled with its config's file name, or with its path where
    configs of that file name from different folders are in ``runs``.
    """
    groups, columns = {}, []
    for config, measured in runs:
        group = groups.setdefault(config, {})
        for metric, value in measured.items():
            group.setdefault(metric, []).append(value)
            if metric not in columns:
                columns.append(metric)
    lines = ['| config | runs | ' + ' | '.join(
        f'{c} (mean ± std) | paper | diff' for c in columns) + ' |',
             '|---|---|' + '---|---|---|' * len(columns)]
    names = [osp.basename(config) for config in groups]
    for config, group in groups.items():
        name = osp.basename(config)
        counts = {len(v) for v in group.values()}
        cells = [name if names.count(name) == 1 else config,
                 '/'.join(str(n) for n in sorted(counts))]
        for c in columns:
            paper = papers.get(name, {}).get(c)
            if c not in group:
                cells += ['', '' if paper is None else f'{paper:.2f}', '']
                continue
            mean, std, _ = summarise(group[c])
            cells.append(f'{mean:.2f}' if std is None else
                         f'{mean:.2f} ± {std:.2f}')
            cells.append('' if paper is None else f'{paper:.2f}')
            cells.append('' if paper is None else f'{mean - paper:+.2f}')
        lines.append('| ' + ' | '.join(cells) + ' |')
    return '\n'.join(lines)


#: Table V's rows, (method, usage of GMConv), in the paper's order
TABLE_V_ROWS = (('GMConv', 'None (Baseline)'), ('GMConv', 'Stem L1'),
                ('GMConv', 'Stem L1-L2'), ('GMConv', 'Stem L1-L3'),
                ('GMConv', 'Stem L1-L4'), ('DCN (L2-L4)', 'None'),
                ('GMConv-DCN', 'Stem L1'))
TABLE_V_DETECTORS = {'faster-rcnn': 'Faster R-CNN',
                     'cascade-rcnn': 'Cascade R-CNN'}
TABLE_V_METRICS = ('box AP', 'box APs', 'box APm', 'box APl')


def table_v_cell(config):
    """``(detector, row)`` of Table V for a detection config file name
    (``DET-rcnn_BACKBONE[-gmconv-stem-l1[-lN]][-dconv-c3-c5]_...``, the
    names of configs/gmconv and configs/mini), or ``None``."""
    detector = config.split('_', 1)[0]
    if detector not in TABLE_V_DETECTORS or '_' not in config:
        return None
    variant = config.split('_')[1]
    gmconv = re.search(r'-gmconv-stem-l1(?:-l([234]))?(?=-|$)', variant)
    dcn = variant.endswith('-dconv-c3-c5')
    if gmconv and dcn:
        row = ('GMConv-DCN', 'Stem L1') if not gmconv.group(1) else None
    elif dcn:
        row = ('DCN (L2-L4)', 'None')
    elif gmconv:
        last = gmconv.group(1)
        row = ('GMConv', 'Stem L1' + (f'-L{last}' if last else ''))
    else:
        row = ('GMConv', 'None (Baseline)')
    return (TABLE_V_DETECTORS[detector], row) if row else None


def table_v(runs, papers):
    """Markdown table in the form of the paper's Table V: a row per
    (method, usage), AP / APs / APm / APl per detector; each cell
    ``mean ± std (runs) / paper``. Runs of other configs are an error."""
    cells, configs = {}, {}
    for config, measured in runs:
        cell = table_v_cell(osp.basename(config))
        if cell is None:
            raise ValueError(
                f'{config} is not a Table V config (DET-rcnn_BACKBONE'
                '[-gmconv-stem-l1[-lN]][-dconv-c3-c5]_...); collect it '
                'without --table V')
        if configs.setdefault(cell, config) != config:
            raise ValueError(f'{config} and {configs[cell]} are both Table V '
                             f'{cell}: collect one of them')
        for metric, value in measured.items():
            cells.setdefault(cell, {}).setdefault(metric, []).append(value)
    head = ['Method', 'Usage of GMConv']
    for det in TABLE_V_DETECTORS.values():
        head += [f'{det} {m[4:]}' for m in TABLE_V_METRICS]
    lines = ['| ' + ' | '.join(head) + ' |', '|---' * len(head) + '|']
    for row in TABLE_V_ROWS:
        line = list(row)
        for det in TABLE_V_DETECTORS.values():
            measured = cells.get((det, row), {})
            paper = papers.get(osp.basename(configs.get((det, row), '')), {})
            for metric in TABLE_V_METRICS:
                cell = ''
                if metric in measured:
                    mean, std, count = summarise(measured[metric])
                    cell = (f'{mean:.1f}' if std is None else
                            f'{mean:.1f} ± {std:.1f}') + f' ({count})'
                if metric in paper:
                    cell += f' / {paper[metric]:.1f}'
                line.append(cell.strip())
        lines.append('| ' + ' | '.join(line) + ' |')
    lines.append('\nEach cell: mean ± sample std over runs (number of runs) '
                 '/ the paper\'s number where the config is one of the '
                 'paper\'s; rows and columns as in the paper\'s Table V.')
    return '\n'.join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument('work_dirs', nargs='+')
    parser.add_argument('--out', help='also write the table here')
    parser.add_argument(
        '--table', choices=['V'],
        help='lay the runs out as the paper\'s Table V (default: one row '
        'per config, every metric with the paper\'s number and the '
        'difference)')
    args = parser.parse_args(argv)
    runs = load_runs([p for d in args.work_dirs for p in find_runs(d)])
    if args.table == 'V':
        table = table_v(runs, paper_numbers())
    else:
        table = results_table(runs, paper_numbers())
    print(table)
    if args.out:
        atomic_write().write_text_atomically(args.out, table + '\n')


def atomic_write():
    """mmgmconv/atomic_write.py, loaded by its path: importing the mmgmconv
    package would import torch, which this tool does not need."""
    package = importlib.util.find_spec('mmgmconv')
    if package is None or not package.submodule_search_locations:
        raise ModuleNotFoundError('--out needs the mmgmconv package '
                                  '(pip install -e . in the repository)')
    path = Path(package.submodule_search_locations[0]) / 'atomic_write.py'
    spec = importlib.util.spec_from_file_location('_atomic_write', path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


if __name__ == '__main__':
    main()
