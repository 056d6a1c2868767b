"""Time ``import mmgmconv`` against ``import torch, mmcv.cnn``.

Each import runs in a fresh interpreter (``python -c``), timed inside it
(wall clock and the process's CPU time, so the interpreter's own start-up is
left out). The two are interleaved, ``--repeats`` times each, and the
medians and the median of the paired differences are printed. CPU time is
the steadier figure on a shared machine. ``python -X importtime -c 'import
mmgmconv'`` shows where the time goes.

    python tools/analysis/benchmark_import.py [--repeats 7]

Run it from the repository root: ``python -c`` imports the ``mmgmconv`` of
the current directory first.
"""
import argparse
import json
import statistics
import subprocess
import sys

STATEMENTS = {
    'import torch, mmcv.cnn': 'import torch, mmcv.cnn',
    'import mmgmconv': 'import mmgmconv',
}

TIMER = """
import json, time
wall, cpu = time.perf_counter(), time.process_time()
{statement}
print(json.dumps([time.perf_counter() - wall, time.process_time() - cpu]))
"""


def time_import(statement):
    out = subprocess.run(
        [sys.executable, '-c', TIMER.format(statement=statement)],
        check=True, capture_output=True, text=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--repeats', type=int, default=7)
    args = parser.parse_args()
    if args.repeats < 1:
        parser.error(f'--repeats must be >= 1, got {args.repeats}')
    times = {name: [] for name in STATEMENTS}
    for _ in range(args.repeats):
        for name, statement in STATEMENTS.items():
            times[name].append(time_import(statement))
    base, ours = times.values()
    print(f'{"":24s} {"wall (s)":>9s} {"CPU (s)":>9s}   '
          f'(median of {args.repeats} fresh interpreters)')
    for name, samples in times.items():
        print(f'{name:24s} {statistics.median(s[0] for s in samples):9.2f} '
              f'{statistics.median(s[1] for s in samples):9.2f}')
    print(f'{"difference":24s} '
          f'{statistics.median(o[0] - b[0] for o, b in zip(ours, base)):9.2f} '
          f'{statistics.median(o[1] - b[1] for o, b in zip(ours, base)):9.2f}')
    print(f'{"ratio":24s} '
          f'{statistics.median(o[0] / b[0] for o, b in zip(ours, base)):9.2f} '
          f'{statistics.median(o[1] / b[1] for o, b in zip(ours, base)):9.2f}'
          '   (median of the paired ratios, mmgmconv / torch + mmcv.cnn)')


if __name__ == '__main__':
    main()
