"""Arrays as tensors that share their memory, read-only arrays included."""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np


def shared_tensor(array: Any) -> Any:
    """``torch.as_tensor(array)``, sharing the array's memory, without PyTorch's warning for a read-only one.

    A user's images often come read-only: ``np.frombuffer`` of a file's bytes (``load_fashion_mnist``),
    ``np.load(..., mmap_mode="r")``, or the read-only views datafix keeps of its inputs. PyTorch warns
    that writing to such a tensor is undefined; datafix only reads these tensors (every batch it
    normalises or augments is a new tensor), so the warning would only be noise to the user, and a
    copy would double the memory of a large memory-mapped set.

    Examples
    --------
    >>> import numpy as np
    >>> a = np.frombuffer(bytes([1, 2, 3]), dtype=np.uint8)
    >>> a.flags.writeable, shared_tensor(a).tolist()
    (False, [1, 2, 3])
    """
    import torch

    if isinstance(array, np.ndarray) and not array.flags.writeable:
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message="The given NumPy array is not writable")
            return torch.as_tensor(array)
    return torch.as_tensor(array)
