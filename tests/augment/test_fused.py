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


@pytest.mark.slow  # Triton's interpreter on the CPU: the slowest test of make check (366 s under load)
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


class _Recorder:
    """Stands in for the Triton kernel: records each launch's arguments (by name)."""

    def __init__(self) -> None:
        self.launches: list[dict] = []

    def __getitem__(self, grid):
        return lambda **kwargs: self.launches.append(kwargs)


def test_a_new_fused_op_descriptor_is_picked_up_everywhere(monkeypatch):
    """One more FusedOp in FUSED_OPS reaches the order in errors, both eligibility checks, the
    plan's switches, gate, table row and constants, and the kernel's arguments by name on both
    paths; nothing else lists the ops."""
    from datafix.augment import _fused, _fused_ops, _kernel_draws
    from datafix.augment._stages import ColorStage, GeometryStage
    from datafix.augment.base import ColorTransform, applied

    class Tint(ColorTransform):
        def params(self, draw, shape, active):
            return {"tint": applied(draw.uniform(self, 1)[:, 0], self.p, active).float()}

        def apply(self, images, params):
            return images * (1 - 0.1 * params["tint"].view(-1, 1, 1, 1))

    class TintOp(_fused_ops.FusedOp):
        cls = Tint
        flags = ("DO_T",)
        arrays = {"tint": ("tint", torch.float32)}
        constants = ("tint_rgb",)
        gate = "TINT"

        def constant_values(self, t):
            return ((0.9, 0.8, 0.7),)

        def row(self, t, size):
            return [t.p, 0.25]

    *colour, norm = _fused_ops.FUSED_OPS
    monkeypatch.setattr(_fused_ops, "FUSED_OPS", _fused_ops.FusedOps((*colour, TintOp(), norm)))
    assert "ColorJitter, RandomGamma, RandomGrayscale, RandomErasing, Normalize" in A.Compose.__doc__
    x = torch.zeros(2, 3, 8, 8)
    with pytest.raises(ValueError, match="covers geometry then ColorJitter, RandomGamma, RandomGrayscale, "
                                         "RandomErasing, Tint, Normalize"):
        A.Compose([A.GaussianBlur(p=1.0)], backend="triton")(x)

    flip = GeometryStage(torch.eye(3)[None].repeat(2, 1, 1), (8, 8), True, torch.eye(3)[None].repeat(2, 1, 1))
    tint, normalize = ColorStage(Tint(p=0.5), {"tint": torch.tensor([1.0, 0.0])}), ColorStage(A.Normalize(), {})
    assert _fused.eligible([flip, ColorStage(A.RandomErasing(), {}), tint, normalize], x)
    assert not _fused.eligible([flip, normalize, tint], x)  # out of order
    assert not _fused.eligible([tint, tint], x)  # twice

    transforms = [A.HorizontalFlip(), A.ColorJitter(contrast=0.2), tint.transform, A.Normalize()]
    keys = {id(t): 10 + i for i, t in enumerate(transforms)}
    plan = _kernel_draws.plan(transforms, keys, (2, 3, 8, 8))
    assert plan is not None and plan.flags["DO_T"] and plan.flags["TINT"] == 10 and plan.flags["GAMMA"] == 0
    assert len(plan.rows) == 11 and plan.rows[10][:3] == (12.0, 0.5, 0.25)
    assert plan.constants["tint_rgb"] == (0.9, 0.8, 0.7) and "fill" not in plan.constants
    assert _kernel_draws.plan(transforms[::-1], keys, (2, 3, 8, 8)) is None

    kernel = _Recorder()
    monkeypatch.setattr(_fused, "_fused_kernel", kernel)
    _fused.run_drawn(x, plan, torch.zeros(11, 24), None, 5, torch.float32, None)
    summing, main = kernel.launches  # contrast: a summing launch first, without the later ops
    assert main["DO_T"] and main["TINT"] == 10 and not summing["DO_T"] and not summing["TINT"]
    assert torch.equal(main["tint_rgb"], torch.tensor([0.9, 0.8, 0.7]))
    kernel.launches.clear()
    _fused.run(x, [flip, tint, normalize], torch.float32, None)
    (main,) = kernel.launches
    assert main["DO_T"] and main["DO_N"] and not main["DO_E"] and torch.equal(main["tint"], torch.tensor([1.0, 0.0]))
    assert torch.equal(main["tint_rgb"], torch.tensor([0.9, 0.8, 0.7]))


def test_a_normalize_for_other_channels_leaves_the_kernel_to_the_torch_path_error():
    # the kernel reads three values per constant: a one-channel Normalize on RGB images used to
    # reach it on the draw-in-kernel path and read past its constants
    from datafix.augment import _kernel_draws

    norm = A.Normalize(mean=(0.5,), std=(0.5,))
    assert _kernel_draws.plan([norm], {id(norm): 1}, (2, 3, 8, 8)) is None
    with pytest.raises(ValueError, match="Normalize needs images with 1 channels"):
        A.Compose([norm], backend="triton")(torch.zeros(2, 3, 8, 8, dtype=torch.uint8))
