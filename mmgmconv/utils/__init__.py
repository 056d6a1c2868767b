"""Helpers of the tools: data-path checks, CPU-distributed set-up, the
tools' shared options and the metrics table."""
from .data_paths import check_dataset_paths, missing_dataset_paths
from .distributed import close_distributed, use_cpu_distributed
from .metrics_table import METRIC_NAMES, check_metrics, metrics_table
from .tool_args import (
                        add_common_args,
                        apply_common_args,
                        build_test_runner,
                        parse_tool_args,
)

__all__ = [
    'check_dataset_paths', 'missing_dataset_paths', 'close_distributed',
    'use_cpu_distributed',
    'METRIC_NAMES', 'check_metrics', 'metrics_table', 'add_common_args',
    'apply_common_args', 'build_test_runner', 'parse_tool_args'
]
