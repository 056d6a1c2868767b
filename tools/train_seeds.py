"""Train and test one config with several seeds (the paper's three runs).

    python tools/train_seeds.py CONFIG --seeds 0 1 2 [--work-dir DIR]
        [--deterministic] [--cfg-options KEY=VALUE ...]

For each seed N, runs ``tools/train.py CONFIG --work-dir DIR/seed_N --resume
--cfg-options randomness.seed=N`` and then ``tools/test.py`` on the
checkpoint the run ended with (``DIR/seed_N/last_checkpoint``), which
writes ``DIR/seed_N/metrics.json``. Finally prints the mean, standard
deviation and run count per metric (tools/analysis/collect_results.py
DIR). A seed whose ``metrics.json`` is a complete result is skipped, so an
interrupted sweep resumes where it stopped: a seed whose training was cut
short continues from its newest complete checkpoint (``--resume``), one
whose ``metrics.json`` is unreadable, empty, partial or stale (tested on
another checkpoint than the one ``last_checkpoint`` names, or before it was
written: a run trained again) is said so and tested again. Single
process; for several GPUs per run, loop over tools/dist_train.sh with the
same ``--cfg-options`` instead.
"""
import argparse
import importlib.util
import os
import os.path as osp
import subprocess
import sys

TOOLS = osp.dirname(osp.abspath(__file__))


def _collect_results():
    """tools/analysis/collect_results.py as a module (its metrics.json
    reader)."""
    spec = importlib.util.spec_from_file_location(
        'collect_results', osp.join(TOOLS, 'analysis', 'collect_results.py'))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def seed_done(seed, work_dir):
    """Whether ``work_dir`` holds a done run: a complete ``metrics.json``
    tested on the checkpoint its ``last_checkpoint`` names
    (collect_results' ``run_done``); a broken or stale one is reported and
    does not count."""
    path = osp.join(work_dir, 'metrics.json')
    if not osp.lexists(path):
        return False
    done, why = _collect_results().run_done(work_dir)
    if not done:
        print(f'seed {seed}: {why}: testing the seed again', flush=True)
        return False
    print(f'seed {seed}: {path} exists, skipped', flush=True)
    return True


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument('config')
    parser.add_argument('--seeds', type=int, nargs='+', required=True,
                        help='distinct seeds from 0 to 2**32 - 1')
    parser.add_argument('--work-dir', help='default: work_dirs/CONFIG_NAME')
    parser.add_argument(
        '--deterministic', action='store_true',
        help='also set randomness.deterministic=True (deterministic '
        'algorithms in torch; raises on ops that have none on the GPU)')
    parser.add_argument('--cfg-options', nargs='+', default=[],
                        help='passed on to tools/train.py and tools/test.py')
    args = parser.parse_args(argv)
    out_of_range = [seed for seed in args.seeds if not 0 <= seed < 2**32]
    if out_of_range:
        parser.error(f'--seeds {out_of_range} out of range: a seed must be '
                     f'from 0 to 2**32 - 1 = {2**32 - 1} (numpy\'s seed '
                     f'range, which mmengine seeds with it)')
    if len(set(args.seeds)) != len(args.seeds):
        parser.error(f'--seeds must be distinct, got {args.seeds}')
    for option in args.cfg_options:
        key = option.split('=', 1)[0]
        if '=' not in option or not key:
            parser.error(f'--cfg-options takes KEY=VALUE, got {option!r}')
        if key == 'randomness.seed' or (key == 'randomness'
                                        and 'seed' in option):
            parser.error(f'--cfg-options {option!r} would set the seed of '
                         f'every run, in place of each of --seeds: leave '
                         f'it out')
    if not osp.isfile(args.config):
        parser.error(f'config {args.config!r} not found')
    if args.work_dir is None:
        args.work_dir = osp.join(
            'work_dirs', osp.splitext(osp.basename(args.config))[0])
    return args


def run(cmd, env):
    print('+', ' '.join(cmd), flush=True)
    subprocess.run(cmd, check=True, env=env)


def main(argv=None):
    args = parse_args(argv)
    env = dict(os.environ)
    if args.deterministic:
        # cuBLAS needs this for deterministic matrix products (CUDA >= 10.2)
        env.setdefault('CUBLAS_WORKSPACE_CONFIG', ':4096:8')
    for seed in args.seeds:
        work_dir = osp.join(args.work_dir, f'seed_{seed}')
        if seed_done(seed, work_dir):
            continue
        options = [f'randomness.seed={seed}']
        if args.deterministic:
            options.append('randomness.deterministic=True')
        # --resume: continues a cut-short run, starts a missing one, and
        # trains no further a finished one
        run([sys.executable, osp.join(TOOLS, 'train.py'), args.config,
             '--work-dir', work_dir, '--resume', '--cfg-options', *options,
             *args.cfg_options], env)
        last = osp.join(work_dir, 'last_checkpoint')
        if not osp.isfile(last):
            raise FileNotFoundError(
                f'{last} not found: the run saved no checkpoint (keep '
                'default_hooks.checkpoint in the config)')
        with open(last) as f:
            checkpoint = f.read().strip()
        test_options = (['--cfg-options', *args.cfg_options]
                        if args.cfg_options else [])
        run([sys.executable, osp.join(TOOLS, 'test.py'), args.config,
             checkpoint, '--work-dir', work_dir, *test_options], env)
    run([sys.executable, osp.join(TOOLS, 'analysis', 'collect_results.py'),
         args.work_dir], env)


if __name__ == '__main__':
    main()
