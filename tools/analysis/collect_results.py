"""Reproduced metrics against the paper's, with mean and spread over runs.

    python tools/analysis/collect_results.py WORK_DIR [WORK_DIR ...] [--out F]
        [--table V]

A WORK_DIR holds ``metrics.json`` (written by tools/test.py) or, for a
tools/train_seeds.py sweep, ``seed_*/metrics.json``. Runs are grouped by
config file name; each group gets one row with the number of runs, the mean
and sample standard deviation of each metric, the paper's number (from the
metafiles listed in model-index.yml) and mean minus paper. ``--table V``
lays detection runs out as the paper's Table V instead (rows: baseline,
Stem L1 .. L1-L4, DCN, GMConv-DCN; AP, APs, APm, APl of Faster and Cascade
R-CNN), each cell the mean ± std beside the paper's number.

Needs only PyYAML: no torch, no OpenMMLab toolbox.
"""
import argparse
import json
import os.path as osp
import re
import statistics
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


def paper_numbers(model_index=ROOT / 'model-index.yml'):
    """``{config file name: {metric: paper value}}`` from the metafiles."""
    model_index = Path(model_index)
    papers = {}
    for metafile in yaml.safe_load(model_index.read_text())['Import']:
        path = model_index.parent / metafile
        for model in yaml.safe_load(path.read_text())['Models']:
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


def load_run(path):
    """``(config file name, {metafile metric: value in the paper's unit})``.
    """
    run = json.loads(Path(path).read_text())
    measured = {}
    for key, value in run['metrics'].items():
        # pycocotools' -1: no ground truth of that size, not a score
        if key.startswith('coco/') and value == -1:
            continue
        if key in METAFILE_METRICS:
            name, scale = METAFILE_METRICS[key]
            measured[name] = value * scale
    return osp.basename(run['config']), measured


def summarise(values):
    """``(mean, sample standard deviation or None for one run, count)``."""
    mean = statistics.fmean(values)
    std = statistics.stdev(values) if len(values) > 1 else None
    return mean, std, len(values)


def results_table(runs, papers):
    """Markdown table: one row per config of ``runs`` (``load_run`` pairs).
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
    for config, group in groups.items():
        counts = {len(v) for v in group.values()}
        cells = [config, '/'.join(str(n) for n in sorted(counts))]
        for c in columns:
            paper = papers.get(config, {}).get(c)
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
        cell = table_v_cell(config)
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
            paper = papers.get(configs.get((det, row)), {})
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
    runs = [load_run(p) for d in args.work_dirs for p in find_runs(d)]
    if args.table == 'V':
        table = table_v(runs, paper_numbers())
    else:
        table = results_table(runs, paper_numbers())
    print(table)
    if args.out:
        Path(args.out).write_text(table + '\n')


if __name__ == '__main__':
    main()
