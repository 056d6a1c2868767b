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
