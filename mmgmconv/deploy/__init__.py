"""Deployment: ONNX export of GMConv models and onnxruntime inference."""
from .onnx_export import (check_exportable, check_standard_domains,
                          export_onnx, prepare_for_export)
from .onnx_runtime import OrtGraph, build_ort_model

__all__ = [
    'check_exportable', 'check_standard_domains', 'export_onnx',
    'prepare_for_export', 'OrtGraph', 'build_ort_model'
]
