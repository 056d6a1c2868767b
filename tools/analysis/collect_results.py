"""Reproduced metrics against the paper's, with mean and spread over runs.

    python tools/analysis/collect_results.py WORK_DIR [WORK_DIR ...] [--out F]
        [--table V]
    python tools/analysis/collect_results.py WORK_DIR [WORK_DIR ...] --done

A WORK_DIR holds ``metrics.json`` (written by tools/test.py) or, for a
tools/train_seeds.py sweep, ``seed_*/metrics.json``; or it is a work root
(``work_dirs/paper``, what tools/reproduce.py trains into) whose folders
are such work dirs. A glob (``'work_dirs/paper/*'``) is expanded here too.
What is not a result is skipped with a note on stderr naming it: a file (a
table written by ``--out``, a figure), a folder without ``metrics.json``
(a backbone run that is not tested, a run not tested yet). A
``metrics.json`` reached twice (the same WORK_DIR given twice, or a work
dir and its work root) is counted once. Runs are grouped by
config (the path tools/test.py recorded; configs of the same file name in
different folders are separate rows, labelled with their paths); each
group gets one row with the number of runs, the mean and sample standard
deviation of each metric, the paper's number (from the metafiles listed in
model-index.yml, matched by config file name) and mean minus paper.
``--table V`` lays detection runs out as the paper's Table V instead
(rows: baseline, Stem L1 .. L1-L4, DCN, GMConv-DCN; AP, APs, APm, APl of
Faster and Cascade R-CNN), each cell the mean ± std beside the paper's
number; a run is filed there only when its config's file name is one of
Table V's (configs/gmconv, configs/mini), every other run is left out
with a warning naming it.

A metrics.json that cannot be read, is empty or partial (not JSON, no
``config`` or ``metrics``, a metric that is not a finite number) is not
counted: a warning on stderr names it and says why. Nor is a stale one: a
metrics.json beside a ``last_checkpoint`` that names another checkpoint
than the one it was tested on, or older than that checkpoint (a run
trained again, with ``--resume`` further or with ``--overwrite`` from
scratch, and not tested since). It is an error when no run is left.

``--done`` only checks: exit status 0 when each WORK_DIR holds a done run
(a complete, not stale metrics.json and the ``last_checkpoint`` it was
tested on), else 1, saying why on stderr. tools/reproduce.py's steps use
it to skip what is done.

A COCO metric of -1 (mmdet's value when the test set has no object of that
size) is left out of its mean, with a warning.

Needs only PyYAML: no torch, no OpenMMLab toolbox (``--out`` is written
with mmgmconv/atomic_write.py, loaded by its path).
"""
import argparse
import glob
import importlib.util
import json
import math
import os.path as osp
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


NOT_TESTED = ('holds no metrics.json (a run not tested yet, or a backbone '
              'run, which is not tested)')


def _work_dir_runs(folder):
    """``(runs, skipped)``: the ``metrics.json`` of a work dir or of its
    ``seed_*`` runs, and its seed runs that have none."""
    if (folder / 'metrics.json').is_file():
        return [folder / 'metrics.json'], []
    seeds = sorted(p for p in folder.glob('seed_*') if p.is_dir())
    runs = [p / 'metrics.json' for p in seeds
            if (p / 'metrics.json').is_file()]
    return runs, [(str(p), NOT_TESTED) for p in seeds
                  if not (p / 'metrics.json').is_file()]


def find_runs(paths):
    """``(metrics.json files, skipped)`` of work dirs, work roots or globs.

    Each path is a work dir (``metrics.json`` or ``seed_*/metrics.json``)
    or a work root whose folders are work dirs. ``skipped`` lists ``(path,
    why)`` for what is not a result. Each metrics.json is listed once,
    however often it is reached.
    """
    found, skipped, seen = [], [], set()
    for given in paths:
        matches = ([Path(given)] if Path(given).exists()
                   or not glob.has_magic(given) else
                   [Path(p) for p in sorted(glob.glob(given))])
        if not matches:
            skipped.append((given, 'matches nothing'))
        for path in matches:
            if not path.is_dir():
                skipped.append((str(path), 'not a work dir (a file)'
                                if path.exists() else 'does not exist'))
                continue
            runs, left = _work_dir_runs(path)
            if not runs and not left:  # a work root, or an untested run
                inner = [_work_dir_runs(p) for p in sorted(path.iterdir())
                         if p.is_dir()]
                if any(r for r, _ in inner):
                    runs = [r for rs, _ in inner for r in rs]
                    left = [s for _, ss in inner for s in ss] + [
                        (str(p), NOT_TESTED) for p, (r, s) in zip(
                            sorted(q for q in path.iterdir() if q.is_dir()),
                            inner) if not r and not s] + [
                        (str(p), 'not a work dir (a file)')
                        for p in sorted(path.iterdir()) if p.is_file()]
                else:
                    left = [(str(path), NOT_TESTED)]
            skipped += left
            for run in runs:
                if run.resolve() not in seen:
                    seen.add(run.resolve())
                    found.append(run)
    return found, list(dict.fromkeys(skipped))


def stale_problem(path, tested):
    """Why the metrics.json ``path`` is not the result of its run's last
    checkpoint, or None; ``tested`` is the checkpoint it names.

    Without a ``last_checkpoint`` beside it (a checkpoint tested on its
    own) there is nothing to compare with: None.
    """
    record = Path(path).parent / 'last_checkpoint'
    if not record.is_file():
        return None
    try:
        last = record.read_text().strip()
    except (OSError, UnicodeDecodeError) as err:
        return f'{record} cannot be read ({err})'
    last_file = Path(path).parent / Path(last).name
    if not last_file.is_file():
        last_file = Path(last)
    if not isinstance(tested, str) or not tested:
        return (f'it names no checkpoint, and {record} names {last}: test '
                'the run again')
    if tested != last and osp.realpath(tested) != osp.realpath(last):
        return (f'it was tested on {tested}, but the run\'s '
                f'last_checkpoint names {last}: test the run again')
    if last_file.is_file() and \
            Path(path).stat().st_mtime < last_file.stat().st_mtime:
        return (f'it is older than {last_file}, which it names (the run '
                'was trained again since it was tested): test it again')
    return None


def run_done(work_dir):
    """``(True, metrics.json)`` when ``work_dir`` holds a done run: a
    complete metrics.json tested on the checkpoint its ``last_checkpoint``
    names, and not older than it; else ``(False, why)``."""
    work_dir = Path(work_dir)
    path = work_dir / 'metrics.json'
    if not (work_dir / 'last_checkpoint').is_file():
        return False, f'{work_dir}/last_checkpoint does not exist'
    if not path.is_file():
        return False, f'{path} does not exist'
    try:
        read_run(path)
    except ValueError as err:
        return False, str(err)
    tested = json.loads(path.read_text()).get('checkpoint')
    problem = stale_problem(path, tested)
    if problem:
        return False, f'{path}: {problem}'
    return True, str(path)


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
    problem = stale_problem(path, json.loads(Path(path).read_text()).get(
        'checkpoint'))
    if problem:
        raise ValueError(f'{path}: {problem}')
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


#: Table V's rows in the paper's order: the variant part of their config
#: names (``DET-rcnn_VARIANT_fpn_1x_coco.py``) -> (method, usage of GMConv)
TABLE_V_ROWS = {
    'r50': ('GMConv', 'None (Baseline)'),
    'r50-gmconv-stem-l1': ('GMConv', 'Stem L1'),
    'r50-gmconv-stem-l1-l2': ('GMConv', 'Stem L1-L2'),
    'r50-gmconv-stem-l1-l3': ('GMConv', 'Stem L1-L3'),
    'r50-gmconv-stem-l1-l4': ('GMConv', 'Stem L1-L4'),
    'r50-dconv-c3-c5': ('DCN (L2-L4)', 'None'),
    'r50-gmconv-stem-l1-dconv-c3-c5': ('GMConv-DCN', 'Stem L1'),
}
TABLE_V_DETECTORS = {'faster-rcnn': 'Faster R-CNN',
                     'cascade-rcnn': 'Cascade R-CNN'}
TABLE_V_METRICS = ('box AP', 'box APs', 'box APm', 'box APl')


def table_v_configs():
    """``{config file name: (detector, row)}`` of Table V's configs
    (configs/gmconv) and of their miniatures (configs/mini)."""
    cells = {}
    for det, det_name in TABLE_V_DETECTORS.items():
        for variant, row in TABLE_V_ROWS.items():
            tiny = variant.replace('r50', 'r50-tiny', 1)
            cells[f'{det}_{variant}_fpn_1x_coco.py'] = (det_name, row)
            cells[f'{det}_{tiny}_fpn_shapes.py'] = (det_name, row)
    return cells


def table_v_cell(config):
    """``(detector, row)`` of Table V for a config file name, or ``None``
    for a config that is not one of Table V's (exact names only: a
    ResNet-101 or ``-stem-l1-l5`` variant is no row of it)."""
    return table_v_configs().get(config)


def table_v(runs, papers):
    """Markdown table in the form of the paper's Table V: a row per
    (method, usage), AP / APs / APm / APl per detector; each cell
    ``mean ± std (runs) / paper``. Runs of other configs are left out,
    with a warning naming each; it is an error when none is left."""
    cells, configs = {}, {}
    for config, measured in runs:
        cell = table_v_cell(osp.basename(config))
        if cell is None:
            warn(f'a run of {config} is left out: not one of Table V\'s '
                 'configs (configs/gmconv, configs/mini); collect it '
                 'without --table V')
            continue
        if configs.setdefault(cell, config) != config:
            raise ValueError(f'{config} and {configs[cell]} are both Table V '
                             f'{cell}: collect one of them')
        for metric, value in measured.items():
            cells.setdefault(cell, {}).setdefault(metric, []).append(value)
    if not cells:
        raise ValueError('no run of a Table V config to lay out as Table V')
    head = ['Method', 'Usage of GMConv']
    for det in TABLE_V_DETECTORS.values():
        head += [f'{det} {m[4:]}' for m in TABLE_V_METRICS]
    lines = ['| ' + ' | '.join(head) + ' |', '|---' * len(head) + '|']
    for row in TABLE_V_ROWS.values():
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
    parser.add_argument(
        '--done', action='store_true',
        help='only check that each WORK_DIR holds a done run (a complete '
        'metrics.json of its last checkpoint): exit status 1, saying why, '
        'when one does not')
    args = parser.parse_args(argv)
    if args.done:
        if args.out or args.table:
            parser.error('--done only checks: drop --out and --table')
        verdicts = [run_done(d) for d in args.work_dirs]
        for done, why in verdicts:
            print(f'done: {why}' if done else f'not done: {why}',
                  file=sys.stdout if done else sys.stderr)
        raise SystemExit(0 if all(done for done, _ in verdicts) else 1)
    paths, skipped = find_runs(args.work_dirs)
    for path, why in skipped:
        print(f'skipped {path}: {why}', file=sys.stderr)
    if not paths:
        raise FileNotFoundError(
            'no metrics.json in ' + ', '.join(args.work_dirs) + ': test the '
            'runs with tools/test.py --work-dir WORK_DIR (or train them with'
            ' tools/train_seeds.py or tools/reproduce.py) first')
    runs = load_runs(paths)
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
