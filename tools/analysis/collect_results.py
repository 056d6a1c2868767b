"""Reproduced metrics against the paper's, with mean and spread over runs.

    python tools/analysis/collect_results.py WORK_DIR [WORK_DIR ...] [--out F]

A WORK_DIR holds ``metrics.json`` (written by tools/test.py) or, for a
tools/train_seeds.py sweep, ``seed_*/metrics.json``. Runs are grouped by
config file name; each group gets one row with the number of runs, the mean
and sample standard deviation of each metric, the paper's number (from the
metafiles listed in model-index.yml) and mean minus paper.

Needs only PyYAML: no torch, no OpenMMLab toolbox.
"""
import argparse
import json
import os.path as osp
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


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument('work_dirs', nargs='+')
    parser.add_argument('--out', help='also write the table here')
    args = parser.parse_args(argv)
    runs = [load_run(p) for d in args.work_dirs for p in find_runs(d)]
    table = results_table(runs, paper_numbers())
    print(table)
    if args.out:
        Path(args.out).write_text(table + '\n')


if __name__ == '__main__':
    main()
