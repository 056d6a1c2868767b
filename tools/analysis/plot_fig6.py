"""Fig. 6: top-1 accuracy against the initial sigma of S-GMConv.

    python tools/analysis/plot_fig6.py RESULTS.md [--out fig6.png]

RESULTS.md is what ``tools/analysis/collect_results.py ... --out
RESULTS.md`` writes for the Fig. 6 runs (``python tools/reproduce.py fig6``
prints them): one row per config with ``Top 1 Accuracy (mean ± std)``.
One panel per network and dataset, as the paper's (a)-(f): the mean top-1
with the standard deviation over runs as error bars at initial sigma 1, 5
and 10 (``*-sgmconv-sigma1``, ``*-sgmconv``, ``*-sgmconv-sigma10``), and
the StdConv config as the "None" point. Prints the plotted values.

A row is taken by its config's file name, also where collect_results
labels it with its path (configs of one file name in several folders);
two rows for one point are an error naming both. Every row that is not
plotted (another config, no top-1) gets a warning on stderr naming it.
"""
import argparse
import os.path as osp
import re
import sys
from pathlib import Path

#: config name part -> initial sigma on the x axis ('None': StdConv)
SIGMAS = {'': 'None', '-sgmconv-sigma1': '1', '-sgmconv': '5',
          '-sgmconv-sigma10': '10'}
CONFIG = re.compile(r'^(resnet\d+)(|-sgmconv|-sgmconv-sigma1|-sgmconv-sigma10)'
                    r'_1xb128_(cifar10|cifar100)\.py$')
COLUMN = 'Top 1 Accuracy (mean ± std)'


def read_results(path):
    """``{(dataset, network): {sigma: (mean, std or None, runs)}}`` from a
    collect_results table; rows of other configs are left out with a
    warning."""
    lines = [line for line in Path(path).read_text().splitlines()
             if line.startswith('|')]
    if not lines:
        raise ValueError(f'{path} has no markdown table: write it with '
                         'tools/analysis/collect_results.py ... --out')
    header = [c.strip() for c in lines[0].strip('|').split('|')]
    if COLUMN not in header:
        raise ValueError(f'{path} has no "{COLUMN}" column (its columns: '
                         f'{header}); collect the CIFAR runs of Fig. 6')
    col = header.index(COLUMN)
    points, rows = {}, {}
    for line in lines[2:]:
        cells = [c.strip() for c in line.strip('|').split('|')]
        match = CONFIG.match(osp.basename(cells[0]))
        if not match:
            warn(f'row {cells[0]} left out: not a Fig. 6 config')
            continue
        if len(cells) <= col or not cells[col]:
            warn(f'row {cells[0]} left out: it has no top-1')
            continue
        network, part, dataset = match.groups()
        point = (dataset, network, SIGMAS[part])
        if point in rows:
            raise ValueError(
                f'{path}: rows {rows[point]} and {cells[0]} are both '
                f'{network} on {dataset} at initial sigma {point[2]}: '
                'collect the runs of one of them')
        rows[point] = cells[0]
        mean, _, std = cells[col].partition(' ± ')
        try:
            value = (float(mean), float(std) if std else None, cells[1])
        except ValueError:
            raise ValueError(f'{path}: row {cells[0]}: {cells[col]!r} is not'
                             ' "MEAN" or "MEAN ± STD"') from None
        points.setdefault((dataset, network), {})[SIGMAS[part]] = value
    if not points:
        raise ValueError(f'{path} has no Fig. 6 config rows (ResNet-20/56/18'
                         ' StdConv and S-GMConv with sigma 1, 5, 10 on '
                         'CIFAR-10/100)')
    return points


def warn(message):
    print(f'warning: {message}', file=sys.stderr)


def main(argv=None):
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument('results')
    parser.add_argument('--out', default='work_dirs/fig6.png')
    args = parser.parse_args(argv)
    points = read_results(args.results)

    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt

    from mmgmconv.atomic_write import atomic_path
    panels = sorted(points, key=lambda k: (k[0] != 'cifar10', k[1]))
    fig, axes = plt.subplots(1, len(panels), squeeze=False,
                             figsize=(3 * len(panels), 3),
                             layout='constrained')
    for ax, key in zip(axes[0], panels):
        sigmas = [s for s in ('None', '1', '5', '10') if s in points[key]]
        means = [points[key][s][0] for s in sigmas]
        stds = [points[key][s][1] or 0 for s in sigmas]
        ax.errorbar(range(len(sigmas)), means, yerr=stds, fmt='o-',
                    capsize=3)
        ax.set_xticks(range(len(sigmas)), sigmas)
        ax.set_xlabel('initial sigma')
        ax.set_title(f'{key[1]}, {key[0]}', fontsize=9)
        for s, mean, std in zip(sigmas, means, stds):
            print(f'{key[1]} {key[0]} sigma {s}: {mean:.2f} ± {std:.2f} '
                  f'({points[key][s][2]} runs)')
    axes[0][0].set_ylabel('top-1 (%), mean ± std')
    Path(osp.dirname(args.out) or '.').mkdir(parents=True, exist_ok=True)
    with atomic_path(args.out) as partial:
        fig.savefig(partial, dpi=100)
    print(f'{args.out}: {len(panels)} panel(s)')


if __name__ == '__main__':
    main()
