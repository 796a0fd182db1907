"""A trained model as a file another runtime serves: ONNX (`onnx`), checked against the PyTorch model and
timed beside it (`check`); `command` is `automl export`."""

from automl.export.check import OutputCheck, SideBySide, compare_outputs, side_by_side
from automl.export.onnx import OnnxExport, export_onnx, run_session, session

__all__ = ["OnnxExport", "OutputCheck", "SideBySide", "compare_outputs", "export_onnx", "run_session", "session",
           "side_by_side"]
