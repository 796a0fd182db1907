"""Whether an exception means "this batch does not fit": the only place that decides it.

Every other exception is a bug in the model or the data and propagates.  Matched on the type where torch
has one (torch.OutOfMemoryError, MemoryError) and on the message otherwise: extensions and older torch
versions raise plain RuntimeErrors.
"""

from __future__ import annotations

import sys

# recognises them, plus the cuBLAS and MPS spellings.  Matched on the message because extensions and older
# torch versions raise plain RuntimeErrors.
_OOM_MESSAGES = (
    "CUDA out of memory",
    "DefaultCPUAllocator: can't allocate memory",
    "cuDNN error: CUDNN_STATUS_NOT_SUPPORTED.",  # what cuDNN raises when it cannot get a workspace
    "CUBLAS_STATUS_ALLOC_FAILED",
    "XPU out of memory",
    "MPS backend out of memory",
)



def is_out_of_memory(exc: BaseException) -> bool:
    """Whether `exc` means the batch did not fit in memory (CUDA, CPU allocator, cuBLAS, MPS)."""
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
    return any(text in message for text in _OOM_MESSAGES)

