"""Evaluate a checkpoint: COCO bbox AP (mmdet) or top-1/top-5 (mmpretrain).

    python tools/test.py CONFIG CHECKPOINT [--work-dir DIR] [--out FILE.pkl]
        [--show] [--show-dir DIR] [--wait-time S] [--interval N] [--tta]
        [--cfg-options key=value ...] [--launcher pytorch]

mmdet 3.3's tools/test.py (mmpretrain 1.2's for a classification config)
with mmgmconv imported and the checkpoint loaded strictly: a checkpoint
that does not match the config is an error listing the mismatched keys.
Prints the metrics as a markdown table and saves them to
``WORK_DIR/metrics.json`` (read by tools/analysis/collect_results.py).
An evaluation that returns no metrics (e.g. a detector that predicts no
box on the whole test set) is an error: exit status 1, no metrics.json;
only an evaluator with ``format_only=True`` (COCO test-dev) is expected to
return none. metrics.json and the ``--out`` pickle are written atomically
(mmgmconv/atomic_write.py): a crash leaves no partial file under their
names. A ``--show-dir`` that is, holds or lies inside a folder of the test
data is refused before the model is built; class names (the checkpoint's,
else the config's) of another count than the model's heads predict are an
error before the weights are loaded.
"""
import argparse
import os.path as osp
import warnings
from copy import deepcopy

from mmengine.config import Config, ConfigDict
from mmengine.dist import is_main_process
from mmengine.evaluator import DumpResults
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper

from mmgmconv.apis import checkpoint_mismatch, resolve_dataset_meta
from mmgmconv.atomic_write import (
    dump_json_atomically,
    partial_path,
    sync_and_replace,
)
from mmgmconv.checkpoint_safety import install_checkpoint_policy
from mmgmconv.utils import (
    add_common_args,
    apply_common_args,
    build_test_runner,
    check_metrics,
    close_distributed,
    metrics_table,
    parse_tool_args,
)
from mmgmconv.utils.data_paths import dataset_folders

#: What ``--tta`` uses when a config defines no ``tta_model``: mmdet's
#: (boxes of the flipped and unflipped image merged by NMS) and
#: mmpretrain's (class scores averaged) defaults of their tools/test.py.
DEFAULT_TTA_MODEL = {
    'mmdet': dict(type='DetTTAModel',
                  tta_cfg=dict(nms=dict(type='nms', iou_threshold=0.5),
                               max_per_img=100)),
    'mmpretrain': dict(type='mmpretrain.AverageClsScoreTTA'),
}


def parse_args():
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument('config', help='test config file path')
    parser.add_argument(
        'checkpoint', help='checkpoint: a local file or a URL mmengine '
        'loads (http(s)://, torchvision://, open-mmlab://, ...)')
    parser.add_argument(
        '--out', help='dump the predictions to this pickle file '
        '(.pkl or .pickle) for offline evaluation; reload with '
        'mmengine.load')
    parser.add_argument('--show', action='store_true',
                        help='show each prediction in a window')
    parser.add_argument(
        '--show-dir', help='save every test image with its predictions '
        'drawn in this folder (detection: relative to WORK_DIR/TIMESTAMP, '
        'as in mmdet; classification: as given, as in mmpretrain)')
    parser.add_argument('--wait-time', type=float, default=2,
                        help='seconds each picture is shown (--show)')
    parser.add_argument(
        '--interval', type=int, help='classification only: draw every '
        'N-th test image (mmpretrain; default 1). Detection draws all')
    parser.add_argument(
        '--tta', action='store_true', help='test-time augmentation with '
        'the config\'s tta_model and tta_pipeline; without them, '
        'horizontal-flip TTA as in mmdet / mmpretrain')
    add_common_args(parser)
    return parse_tool_args(parser)


def check_args(args, scope):
    """Refuse option values the tool cannot honour, naming what is allowed."""
    if args.out is not None and not args.out.endswith(('.pkl', '.pickle')):
        raise ValueError(f'--out must name a .pkl or .pickle file, got '
                         f'{args.out!r}')
    if '://' not in args.checkpoint and not osp.isfile(args.checkpoint):
        raise FileNotFoundError(
            f'checkpoint {args.checkpoint!r} not found: give a local file '
            'or a URL (http(s)://, torchvision://, open-mmlab://, ...)')
    if scope not in DEFAULT_TTA_MODEL and (args.out or args.show
                                           or args.show_dir or args.tta):
        raise ValueError(
            f'--out, --show, --show-dir and --tta need an mmdet or '
            f'mmpretrain config (default_scope), {args.config} has '
            f'default_scope={scope!r}')
    if args.interval is not None and (scope != 'mmpretrain'
                                      or args.interval < 1):
        raise ValueError(
            f'--interval takes a positive int and only a classification '
            f'(mmpretrain) config; got {args.interval} for default_scope='
            f'{scope!r} (mmdet\'s test draws every image)')


def show_dir_path(work_dir, timestamp, show_dir, scope):
    """Where the drawings go: mmdet's hook saves under WORK_DIR/TIMESTAMP,
    mmpretrain's where ``--show-dir`` says."""
    if scope == 'mmdet':
        return osp.join(work_dir, timestamp, show_dir)
    return show_dir


def check_show_dir(cfg, args, scope):
    """Refuse a ``--show-dir`` that is, holds or lies inside a folder the
    test dataset reads its samples from: the drawings, named after the
    images, would replace them (mmdet) or be mixed into the data.

    The run's timestamp is not known before the Runner is built; any
    timestamp gives the same answer unless ``--show-dir`` climbs out of
    it with ``..``, which the placeholder folder resolves the same way.
    """
    drawn = osp.realpath(
        show_dir_path(cfg.work_dir, 'TIMESTAMP', args.show_dir, scope))
    for key, folder in dataset_folders(cfg, 'test'):
        data = osp.realpath(folder)
        common = osp.commonpath([drawn, data])
        if common in (drawn, data):
            relation = ('is' if drawn == data else
                        'holds' if common == drawn else 'lies inside')
            raise ValueError(
                f'--show-dir {args.show_dir} ({drawn}) {relation} the '
                f'folder of the test data, {key} = {folder} ({data}): the '
                'drawings, named after the images, would replace them or '
                'be mixed into the data. Choose a --show-dir outside it')


class CheckClassCount(Hook):
    """Before a checkpoint is loaded into the model: the classes its meta
    (or else the config's test dataset) names must be as many as the
    model's heads predict (:func:`mmgmconv.apis.resolve_dataset_meta`)."""

    def __init__(self, checkpoint, config):
        self.checkpoint = checkpoint
        self.config = config

    def after_load_checkpoint(self, runner, checkpoint):
        model = (runner.model.module if is_model_wrapper(runner.model) else
                 runner.model)
        resolve_dataset_meta(checkpoint, self.checkpoint, model, self.config)


def enable_visualization(cfg, args, scope):
    """``--show`` / ``--show-dir`` through the config's visualisation hook."""
    if scope == 'mmdet':
        from mmdet.engine.hooks.utils import trigger_visualization_hook
        return trigger_visualization_hook(cfg, args)
    hook = cfg.default_hooks.get('visualization')
    if hook is None:
        raise ValueError(f'{args.config} has no default_hooks.visualization'
                         ' (e.g. dict(type=\'VisualizationHook\'))')
    hook.update(enable=True, show=args.show, wait_time=args.wait_time,
                out_dir=args.show_dir, interval=args.interval or 1)
    return cfg


def enable_tta(cfg, scope):
    """Wrap the model in ``tta_model`` and test with ``tta_pipeline``.

    A config without them gets mmdet's / mmpretrain's default: the test
    pipeline with its last (packing) step replaced by the image and its
    horizontal flip.
    """
    if 'tta_model' not in cfg:
        warnings.warn('the config has no tta_model: using '
                      f'{DEFAULT_TTA_MODEL[scope]["type"]}')
        cfg.tta_model = DEFAULT_TTA_MODEL[scope]
    if 'tta_pipeline' not in cfg:
        warnings.warn('the config has no tta_pipeline: using the test '
                      'pipeline with horizontal-flip TTA')
        dataset = cfg.test_dataloader.dataset
        while 'dataset' in dataset:
            dataset = dataset.dataset
        pipeline = deepcopy(dataset.pipeline)
        pack = pipeline[-1]
        if scope == 'mmdet':
            pack = dict(type='PackDetInputs',
                        meta_keys=('img_id', 'img_path', 'ori_shape',
                                   'img_shape', 'scale_factor', 'flip',
                                   'flip_direction'))
        pipeline[-1] = dict(
            type='TestTimeAug',
            transforms=[[dict(type='RandomFlip', prob=1.),
                         dict(type='RandomFlip', prob=0.)], [pack]])
        cfg.tta_pipeline = pipeline
    cfg.model = ConfigDict(**cfg.tta_model, module=cfg.model)
    cfg.test_dataloader.dataset.pipeline = cfg.tta_pipeline
    return cfg


def main():
    install_checkpoint_policy()  # every checkpoint this tool reads
    args = parse_args()
    cfg = apply_common_args(Config.fromfile(args.config), args)
    scope = cfg.get('default_scope')
    check_args(args, scope)
    if args.show_dir:
        check_show_dir(cfg, args, scope)
    if args.show or args.show_dir:
        cfg = enable_visualization(cfg, args, scope)
    if args.tta:
        cfg = enable_tta(cfg, scope)
    runner = build_test_runner(cfg)
    runner.register_hook(CheckClassCount(args.checkpoint, cfg))
    try:
        runner.load_checkpoint(args.checkpoint, strict=True)
    except RuntimeError as err:
        raise checkpoint_mismatch(args.checkpoint, args.config, err) from None
    if args.out:
        if scope == 'mmdet':
            from mmdet.evaluation import DumpDetResults as dump_type
        else:
            dump_type = DumpResults
        # written by rank 0 at the end of the test, renamed once complete
        runner.test_evaluator.metrics.append(
            dump_type(out_file_path=partial_path(args.out)))
    metrics = runner.test()
    if args.out and is_main_process():
        sync_and_replace(partial_path(args.out), args.out)
        print(f'predictions: {args.out}')
    # on every rank: mmengine's evaluator broadcasts the metrics
    has_metrics = check_metrics(metrics, runner.test_evaluator, args.config)
    if is_main_process():
        if has_metrics:
            print(f'\n{osp.basename(args.config)}\n{metrics_table(metrics)}')
            dump_json_atomically(
                dict(config=args.config, checkpoint=args.checkpoint,
                     metrics=metrics),
                osp.join(cfg.work_dir, 'metrics.json'), indent=2,
                # mmseg's IoUMetric gives numpy floats
                default=float)
        else:
            print(f'{args.config}: the evaluator only formats results '
                  '(format_only=True): no metrics, no metrics.json')
        if args.show_dir:
            print('drawn predictions: ' + show_dir_path(
                runner.work_dir, runner.timestamp, args.show_dir, scope))


if __name__ == '__main__':
    main()
    close_distributed()
