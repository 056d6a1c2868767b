"""The one-row metrics table the test tools print."""


#: Short names for the metrics the papers' tables report.
METRIC_NAMES = {
    'coco/bbox_mAP': 'AP',
    'coco/bbox_mAP_50': 'AP50',
    'coco/bbox_mAP_75': 'AP75',
    'coco/bbox_mAP_s': 'APs',
    'coco/bbox_mAP_m': 'APm',
    'coco/bbox_mAP_l': 'APl',
    'accuracy/top1': 'top-1',
    'accuracy/top5': 'top-5',
}


def metrics_table(metrics: dict) -> str:
    """A one-row markdown table of ``metrics`` (known names shortened)."""
    names = [METRIC_NAMES.get(k, k) for k in metrics]
    values = [f'{v:.3f}' if isinstance(v, float) else str(v)
              for v in metrics.values()]
    return '\n'.join([
        '| ' + ' | '.join(names) + ' |',
        '|' + '---|' * len(names),
        '| ' + ' | '.join(values) + ' |',
    ])


def check_metrics(metrics: dict, evaluator, config: str) -> bool:
    """Whether an evaluation's ``metrics`` hold numbers to report.

    An evaluator metric built with ``format_only=True`` (mmdet's
    ``CocoMetric`` for COCO test-dev) only writes results for an evaluation
    server and returns no numbers by design: then False. Any other empty
    result is an error naming the evaluator, instead of an empty table and
    an empty ``metrics.json`` that look like a successful evaluation.

    Args:
        metrics: what ``Runner.test()`` returned.
        evaluator: the runner's ``test_evaluator`` (its ``metrics`` list).
        config: the config file, named in the error.
    """
    if metrics:
        return True
    parts = getattr(evaluator, 'metrics', [])
    if any(getattr(m, 'format_only', False) for m in parts):
        return False
    names = ', '.join(type(m).__name__ for m in parts) or 'no evaluator'
    raise RuntimeError(
        f'{config}: the evaluation returned no metrics ({names}), so there '
        'is nothing to report and no metrics.json is written. mmdet\'s '
        'CocoMetric returns none when the model predicts no box on the '
        'whole test set (its log says "The testing results of the whole '
        'dataset is empty"): check the checkpoint and the score threshold '
        'of the config\'s test_cfg')
