"""Deployment: ONNX export of GMConv models and onnxruntime inference."""
from .onnx_export import (
                          SUPPORTED_OPSETS,
                          check_exportable,
                          check_standard_domains,
                          export_onnx,
                          prepare_for_export,
)
from .onnx_runtime import OrtGraph, build_ort_model
from .onnx_verify import max_abs_diff

__all__ = [
    'SUPPORTED_OPSETS', 'check_exportable', 'check_standard_domains',
    'export_onnx', 'prepare_for_export', 'OrtGraph', 'build_ort_model',
    'max_abs_diff'
]
