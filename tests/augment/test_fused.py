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
from torch.utils._python_dispatch import TorchDispatchMode

from datafix import augment as A

triton = pytest.importorskip("triton", reason="the fused path needs Triton")

CASES = textwrap.dedent("""
    import json, torch
    from datafix import augment as A
    gen = torch.Generator().manual_seed(0)
    small = torch.randint(0, 256, (4, 3, 20, 24), dtype=torch.uint8, generator=gen)
    big = torch.randint(0, 256, (2, 3, 140, 150), dtype=torch.uint8, generator=gen)  # 4096-pixel programs
    MyJitter = type("MyJitter", (A.ColorJitter,), {})  # same draws: stays on the draw-in-kernel path
    MyFlip = type("MyFlip", (A.HorizontalFlip,), {})  # a geometry subclass: parameters drawn on the host
    cases = {
        "full": (small, [A.RandomResizedCrop((16, 18)), A.HorizontalFlip(), A.Affine(degrees=20,
                 translate=(0.1, 0.1), scale=(0.9, 1.1), shear=5), A.ColorJitter(0.4, 0.4, 0.4, 0.1),
                 A.RandomErasing(p=0.5), A.Normalize()]),
        "flip_hue": (small, [A.HorizontalFlip(), A.ColorJitter(brightness=0.3, hue=0.2)]),
        "no_geometry": (small, [A.ColorJitter(contrast=0.5), A.RandomGamma(p=1.0), A.RandomGrayscale(p=0.5)]),
        "crops": (small, [A.RandomCrop(16, padding=3), A.VerticalFlip(), A.CenterCrop(12), A.Resize((10, 14)),
                          A.RandomErasing(p=1.0, value=(0.1, 0.2, 0.3))]),
        "affine_all": (small, [A.Affine(degrees=30, translate=(0.2, 0.1), scale=(0.8, 1.2), shear=10,
                                        shear_y=(-5, 8), scale_y=(0.7, 1.3), p=0.7), A.RandomGamma(p=0.5)]),
        "subclass": (small, [MyFlip(), MyJitter(0.3, 0.3)]),
        "big": (big, [A.RandomResizedCrop(130, scale=(0.5, 1.0)), A.HorizontalFlip(),
                      A.ColorJitter(0.4, 0.4, 0.4, 0.1), A.RandomErasing(p=0.5), A.Normalize()]),
    }
    errors, drawn_in_kernel = {}, {}
    for name, (x, ops) in cases.items():
        drawn_in_kernel[name] = A.Compose(ops, backend="triton")._drawn_in_kernel(x.to(DEVICE), None) is not None
        inputs = (("uint8", x), ("float", x.float() / 255)) if name == "full" else (("uint8", x),)
        for label, inp in inputs:  # (the interpreter is slow: float input and second calls on "full" only)
            inp = inp.to(DEVICE)
            for keyed in (False, True):
                ids = (torch.arange(len(inp)) * 7919 + 2**33).to(DEVICE) if keyed else None
                ref, fused = A.Compose(ops, seed=3, backend="torch"), A.Compose(ops, seed=3, backend="triton")
                ref.set_epoch(2)
                fused.set_epoch(2)
                for call in range(2 if name == "full" else 1):  # a second call draws anew on both paths alike
                    err = (ref(inp, sample_ids=ids) - fused(inp, sample_ids=ids)).abs().max()
                    errors[f"{name}-{label}-{'keyed' if keyed else 'unkeyed'}-{call}"] = float(err)
            stages = ref.draw(inp)  # a replay: the kernel on parameters drawn on the host
            errors[f"{name}-{label}-replay"] = float((ref.apply(inp, stages) - fused.apply(inp, stages)).abs().max())
    bf16 = A.Compose(cases["full"][1], seed=3, backend="triton", output_dtype=torch.bfloat16)(small.to(DEVICE))
    print(json.dumps({"errors": errors, "drawn_in_kernel": drawn_in_kernel, "bf16-dtype": str(bf16.dtype)}))
""")


def _errors(device: str) -> dict:
    env = dict(os.environ, TRITON_INTERPRET="1" if device == "cpu" else "0")
    code = f"DEVICE = {device!r}\n" + CASES
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def _check(result: dict) -> None:
    assert result["bf16-dtype"] == "torch.bfloat16"
    assert result["drawn_in_kernel"] == {"full": True, "flip_hue": True, "no_geometry": True, "crops": True,
                                         "affine_all": True, "subclass": False, "big": True}
    errors = result["errors"]
    assert len(errors) == 2 * 5 + 6 * 3
    for name, err in errors.items():  # big: contrast's mean gray summed in another order over 16,900 pixels,
        assert err < (1e-3 if name.startswith("big") else 1e-4), (name, err)  # then x 4.4 by Normalize


def test_fused_kernel_matches_the_reference_in_the_interpreter():
    _check(_errors("cpu"))


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_fused_kernel_matches_the_reference_on_cuda():
    _check(_errors("cuda"))


class _Dispatches(TorchDispatchMode):
    """Counts the torch operations dispatched while active."""

    def __init__(self) -> None:
        super().__init__()
        self.ops: list[str] = []

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        self.ops.append(str(func))
        return func(*args, **(kwargs or {}))


def test_a_call_drawn_in_the_kernel_dispatches_a_few_torch_ops_whatever_the_pipeline(monkeypatch):
    # the launches are stubbed: Triton launches are not torch operations, and on a GPU the count is this one
    from datafix.augment import _fused

    launches = []
    monkeypatch.setattr(_fused, "_launch", lambda x, out, pointers, flags: launches.append(flags))
    x = torch.randint(0, 256, (4, 3, 40, 40), dtype=torch.uint8)
    long = [A.RandomResizedCrop(32), A.HorizontalFlip(), A.Affine(degrees=15, translate=(0.1, 0.1)),
            A.ColorJitter(0.4, 0.4, 0.4, 0.1), A.RandomGamma(), A.RandomGrayscale(), A.RandomErasing(),
            A.Normalize()]
    counts = {}
    for name, ops in (("long", long), ("short", [A.HorizontalFlip(), A.ColorJitter(0.4, 0.4)])):
        aug = A.Compose(ops, seed=0, backend="triton", validate=False)
        aug(x)  # the first call makes the plan's table on the device
        for keyed, ids in (("unkeyed", None), ("keyed", torch.arange(4))):
            with _Dispatches() as seen:
                aug(x, sample_ids=ids)
            counts[name, keyed] = seen.ops
    assert all(f["DRAWN"] for f in launches)
    assert counts["long", "unkeyed"] == counts["short", "unkeyed"] == ["aten.empty.memory_format",
                                                                         "aten.zeros.default"]
    assert all(len(ops) <= 5 for ops in counts.values())
    with _Dispatches() as seen:  # the same pipeline with its parameters drawn on the host: hundreds
        aug.apply(x, aug.draw(x))
    assert len(seen.ops) > 100


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_cuda_graph_capture_replays_keyed_draws_exactly():
    aug = A.Compose([A.RandomResizedCrop(32), A.HorizontalFlip(), A.ColorJitter(0.4, 0.4, 0.4, 0.1),
                     A.RandomErasing(p=0.5), A.Normalize()], seed=0, validate=False)
    gen = torch.Generator().manual_seed(0)
    batches = [torch.randint(0, 256, (16, 3, 40, 40), dtype=torch.uint8, generator=gen).cuda() for _ in range(3)]
    static_x, static_ids = batches[0].clone(), torch.arange(16, device="cuda")
    aug(static_x, sample_ids=static_ids)  # compile and make the table before capture
    graph = torch.cuda.CUDAGraph()
    with torch.cuda.graph(graph):
        static_out = aug(static_x, sample_ids=static_ids)
    for step, batch in enumerate(batches):
        static_x.copy_(batch)
        static_ids.copy_(torch.arange(16, device="cuda") + 16 * step)
        graph.replay()
        eager = aug(batch, sample_ids=torch.arange(16, device="cuda") + 16 * step)
        assert torch.equal(static_out, eager)


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


def test_a_pickled_pipeline_leaves_its_kernel_table_behind(monkeypatch):
    import pickle

    from datafix.augment import _fused

    monkeypatch.setattr(_fused, "_launch", lambda x, out, pointers, flags: None)
    aug = A.Compose([A.HorizontalFlip(), A.ColorJitter(0.2)], seed=0, backend="triton")
    aug(torch.zeros(2, 3, 8, 8, dtype=torch.uint8))
    assert aug._tables  # made on the first call (on a GPU, a CUDA tensor workers may not reach)
    copy = pickle.loads(pickle.dumps(aug))
    assert copy._tables == {} and aug._tables
    assert copy(torch.zeros(2, 3, 8, 8, dtype=torch.uint8)).shape == (2, 3, 8, 8)
