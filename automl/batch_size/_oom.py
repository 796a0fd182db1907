"""Whether an exception means "this batch does not fit": the only place that decides it.

Every other exception is a bug in the model or the data and propagates.  Matched on the type where torch
has one (torch.OutOfMemoryError, MemoryError) and on the message otherwise: extensions and older torch
versions raise plain RuntimeErrors.
"""

from __future__ import annotations

import re
import sys

# What torch's CUDA and CPU allocators say, plus the cuDNN, cuBLAS, XPU and MPS spellings.  Matched on the
# message because extensions and older torch versions raise plain RuntimeErrors.
_OOM_MESSAGES = (
    "CUDA out of memory",
    "DefaultCPUAllocator: can't allocate memory",
    "cuDNN error: CUDNN_STATUS_NOT_SUPPORTED.",  # what cuDNN raises when it cannot get a workspace
    "CUBLAS_STATUS_ALLOC_FAILED",
    "XPU out of memory",
    "MPS backend out of memory",
)
# oneDNN (mkldnn) on CPU when it cannot allocate a primitive's memory, as a process under a memory limit meets
# it (linear layers, RNNs); a shape it does not support says "... a primitive descriptor for ...": not memory.
_ONEDNN = re.compile(r"could not create a primitive(?! descriptor)")


def is_out_of_memory(exc: BaseException) -> bool:
    """Whether `exc` means the batch did not fit in memory (CUDA, CPU allocator, oneDNN, cuBLAS, MPS)."""
    if isinstance(exc, MemoryError):
        return True
    torch_module = sys.modules.get("torch")
    if torch_module is not None:
        oom_type = getattr(torch_module, "OutOfMemoryError", None) or getattr(
            getattr(torch_module, "cuda", None), "OutOfMemoryError", None
        )
        if isinstance(oom_type, type) and isinstance(exc, oom_type):
            return True
    if not isinstance(exc, RuntimeError):
        return False
    message = str(exc)
    return any(text in message for text in _OOM_MESSAGES) or _ONEDNN.search(message) is not None

