"""Table III/V (or I/II/IV) style markdown from tools/test.py results.

    python tools/analysis/collect_results.py WORK_DIR [WORK_DIR ...] [--out F]

Reads each ``WORK_DIR/metrics.json`` written by tools/test.py and prints one
row per run with the measured metrics, the paper's number for that config
(from the tables in configs/README.md and configs/classification/README.md)
and the difference.
"""
import argparse
import json
import os.path as osp
import re
from pathlib import Path

from mmgmconv.runner_setup import METRIC_NAMES

ROOT = Path(__file__).parents[2]


def paper_numbers():
    """``{config file name: {column: paper value}}`` from the README tables.

    Detection rows list AP, AP50, AP75, APs, APm, APl; Table II rows top-1,
    top-5; Table IV rows top-1; Table I rows CIFAR-10 / CIFAR-100 top-1 for
    two configs (the last two decimal numbers of the row).
    """
    papers = {}
    det = ('AP', 'AP50', 'AP75', 'APs', 'APm', 'APl')
    for line in (ROOT / 'configs/README.md').read_text().splitlines():
        m = re.match(r'\| \[[^]]+\]\(gmconv/([^)]+)\)[^|]*\|(.*)', line)
        if m:
            cells = [c.strip() for c in m.group(2).split('|')][:6]
            papers[m.group(1)] = {k: float(c) for k, c in zip(det, cells) if c}
    cls_readme = (ROOT / 'configs/classification/README.md').read_text()
    for line in cls_readme.splitlines():
        links = re.findall(r'\]\(((?:cifar|imagenet)/[^)]+)\)', line)
        nums = re.findall(r'\| (\d+\.\d+) (?=\|)', line)
        if len(links) == 2 and len(nums) >= 2:  # Table I: c10 / c100
            papers[osp.basename(links[0])] = {'top-1': float(nums[-2])}
            papers[osp.basename(links[1])] = {'top-1': float(nums[-1])}
        elif len(links) == 1 and 'imagenet' in links[0] and nums:
            vals = [float(n) for n in nums]
            name = osp.basename(links[0])
            if line.count('|') > 8:  # Table II: params, FLOPs, top-1, top-5
                papers[name] = {'top-1': vals[-2], 'top-5': vals[-1]}
            else:  # Table IV: top-1 (Table II's row, if any, has top-5 too)
                papers.setdefault(name, {'top-1': vals[-1]})
    return papers


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument('work_dirs', nargs='+')
    parser.add_argument('--out', help='also write the table here')
    args = parser.parse_args()
    papers = paper_numbers()
    rows, columns = [], []
    for work_dir in args.work_dirs:
        path = Path(work_dir) / 'metrics.json'
        if not path.exists():
            raise FileNotFoundError(f'{path} not found: run tools/test.py '
                                    f'with --work-dir {work_dir} first')
        run = json.loads(path.read_text())
        measured = {METRIC_NAMES[k]: v for k, v in run['metrics'].items()
                    if k in METRIC_NAMES}
        # COCO AP is a fraction in mmdet, a percentage in the paper
        measured = {k: v * 100 if k.startswith('AP') else v
                    for k, v in measured.items()}
        columns += [c for c in measured if c not in columns]
        rows.append((osp.basename(run['config']), measured,
                     papers.get(osp.basename(run['config']), {})))
    header = '| config | ' + ' | '.join(
        f'{c} | paper | diff' for c in columns) + ' |'
    lines = [header, '|---|' + '---|---|---|' * len(columns)]
    for name, measured, paper in rows:
        cells = []
        for c in columns:
            m, p = measured.get(c), paper.get(c)
            cells += [f'{m:.1f}' if m is not None else '',
                      f'{p:.1f}' if p is not None else '',
                      f'{m - p:+.1f}' if None not in (m, p) else '']
        lines.append(f'| {name} | ' + ' | '.join(cells) + ' |')
    table = '\n'.join(lines)
    print(table)
    if args.out:
        Path(args.out).write_text(table + '\n')


if __name__ == '__main__':
    main()
