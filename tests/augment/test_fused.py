"""The fused Triton kernel against the torch reference path.

Without a GPU the kernel runs in Triton's interpreter (``TRITON_INTERPRET=1``, set before Triton
is imported, so in a child process); with CUDA it runs for real. Either way the result must be
the reference's to float rounding.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import pytest
import torch

from datafix import augment as A

triton = pytest.importorskip("triton", reason="the fused path needs Triton")

CASES = textwrap.dedent("""
    import json, torch
    from datafix import augment as A
    x = torch.randint(0, 256, (3, 3, 20, 24), dtype=torch.uint8, generator=torch.Generator().manual_seed(0))
    cases = {
        "full": [A.RandomResizedCrop((16, 18)), A.HorizontalFlip(), A.Affine(degrees=20, translate=(0.1, 0.1),
                 scale=(0.9, 1.1), shear=5), A.ColorJitter(0.4, 0.4, 0.4, 0.1), A.RandomErasing(p=0.5),
                 A.Normalize()],
        "flip_hue": [A.HorizontalFlip(), A.ColorJitter(brightness=0.3, hue=0.2)],
        "no_geometry": [A.ColorJitter(contrast=0.5), A.RandomGamma(p=1.0), A.RandomGrayscale(p=0.5)],
        "rotate_only": [A.Affine(degrees=45, p=1.0)],
        "subclass": [A.HorizontalFlip(), type("MyJitter", (A.ColorJitter,), {})(0.3, 0.3)],
    }
    errors = {}
    for name, ops in cases.items():
        for label, inp in (("uint8", x), ("float", x.float() / 255)):
            inp = inp.to(DEVICE)
            ref = A.Compose(ops, seed=3, backend="torch")(inp)
            fused = A.Compose(ops, seed=3, backend="triton")(inp)
            errors[f"{name}-{label}"] = float((ref - fused).abs().max())
    bf16 = A.Compose(cases["full"], seed=3, backend="triton", output_dtype=torch.bfloat16)(x.to(DEVICE))
    errors["bf16-dtype"] = str(bf16.dtype)
    print(json.dumps(errors))
""")


def _errors(device: str) -> dict:
    env = dict(os.environ, TRITON_INTERPRET="1" if device == "cpu" else "0")
    code = f"DEVICE = {device!r}\n" + CASES
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def _check(errors: dict) -> None:
    assert errors.pop("bf16-dtype") == "torch.bfloat16"
    assert len(errors) == 10
    for name, err in errors.items():
        assert err < 1e-4, (name, err)


def test_fused_kernel_matches_the_reference_in_the_interpreter():
    _check(_errors("cpu"))


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_fused_kernel_matches_the_reference_on_cuda():
    _check(_errors("cuda"))


def test_auto_takes_the_fused_path_only_for_eligible_pipelines():
    from datafix.augment import _fused
    from datafix.augment._stages import ColorStage, GeometryStage

    class MyJitter(A.ColorJitter):  # a subclass keeps the fast path (the kernel looks classes up by MRO)
        pass

    x = torch.zeros(1, 3, 4, 4)
    flip = GeometryStage(torch.eye(3)[None], (4, 4), True, torch.eye(3)[None])
    jitter = ColorStage(A.ColorJitter(0.1), {})
    assert _fused.eligible([flip, jitter, ColorStage(A.Normalize(), {})], x)
    assert _fused.eligible([flip, ColorStage(MyJitter(0.1), {})], x)
    assert not _fused.eligible([jitter, flip], x)  # geometry after colour
    assert not _fused.eligible([ColorStage(A.Normalize(), {}), jitter], x)  # out of order
    assert not _fused.eligible([flip, ColorStage(A.GaussianBlur(), {})], x)  # no fused blur
    assert not _fused.eligible([flip], torch.zeros(1, 1, 4, 4))  # one channel
    with pytest.raises(ValueError, match="backend='triton' covers"):
        A.Compose([A.GaussianBlur(p=1.0)], backend="triton")(x)
