"""Where the time of the big GPU jobs goes (issue 20): one augmentation call (host time against GPU
time), the audit at n = 1,000,000, d = 128, and TorchSMOTE at n = 1,000,000, d = 32 against
imbalanced-learn on the same machine.

The audit runs once under cProfile (the data of benchmarks/audit_speed.py's --scale run); the script
prints the wall time and the functions with the most own time and the most cumulative time. TorchSMOTE
runs once plainly (timed) and once under torch.profiler (the operations with the most CPU and CUDA
time); imbalanced-learn's SMOTE runs on the same data for the ratio.

    python benchmarks/gpu_profile.py [--audit-n 1000000] [--smote-n 1000000] [--skip-audit] [--skip-smote]

Prints only (nothing is written to docs/): the figures go into the issue notes and docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import pstats
import time
import warnings

import numpy as np
import torch

import datafix as dfx
from audit_speed import ISSUES, make_data
from datafix.augment import _fused


def _sync() -> None:
    if torch.cuda.is_available():
        torch.cuda.synchronize()


def profile_audit(n: int) -> None:
    data = make_data(n, seed=0, realistic_probs=False)
    profiler = cProfile.Profile()
    t0 = time.perf_counter()
    profiler.enable()
    report = dfx.audit(data["X"], data["y"], pred_probs=data["P"], checks=[*ISSUES, "null"], verbose=False)
    _sync()
    profiler.disable()
    seconds = time.perf_counter() - t0
    print(f"audit n={n:,} d=128 on {report.signals.get('neighbors')}: {seconds:.1f} s (under cProfile)", flush=True)
    for key in ("tottime", "cumulative"):
        out = io.StringIO()
        pstats.Stats(profiler, stream=out).sort_stats(key).print_stats(22)
        print(f"-- top by {key} --")
        print("\n".join(line for line in out.getvalue().splitlines() if line.strip())[-3200:], flush=True)


def profile_smote(n: int) -> None:
    from imblearn.over_sampling import SMOTE
    from sklearn.datasets import make_classification

    from datafix.synth import TorchSMOTE

    X, y = make_classification(n_samples=n, n_features=32, n_informative=16, weights=[0.9, 0.1], random_state=0)
    X = X.astype(np.float32)
    device = "cuda" if torch.cuda.is_available() else "cpu"
    Xt = torch.tensor(X, device=device)
    TorchSMOTE(random_state=0, device=device).sample(Xt[:20_000], y[:20_000])  # warm-up (kernels, allocator)
    _sync()
    times = []
    for _ in range(3):
        t0 = time.perf_counter()
        TorchSMOTE(random_state=0, device=device).sample(Xt, y)
        _sync()
        times.append(time.perf_counter() - t0)
    t0 = time.perf_counter()
    SMOTE(random_state=0).fit_resample(X, y)
    t_imb = time.perf_counter() - t0
    best = min(times)
    print(f"SMOTE n={n:,} d=32 90/10: TorchSMOTE on {device} {best:.3f} s (best of 3: "
          f"{', '.join(f'{t:.3f}' for t in times)}); imbalanced-learn {t_imb:.2f} s on "
          f"{torch.get_num_threads()} threads -> {t_imb / best:.1f}x", flush=True)
    activities = [torch.profiler.ProfilerActivity.CPU]
    if device == "cuda":
        activities.append(torch.profiler.ProfilerActivity.CUDA)
    with torch.profiler.profile(activities=activities) as prof:
        TorchSMOTE(random_state=0, device=device).sample(Xt, y)
        _sync()
    sort = "cuda_time_total" if device == "cuda" else "cpu_time_total"
    print(prof.key_averages().table(sort_by=sort, row_limit=15, max_name_column_width=50), flush=True)
    print(prof.key_averages().table(sort_by="self_cpu_time_total", row_limit=10, max_name_column_width=50),
          flush=True)


def profile_augment(size: int = 224, batch: int = 256) -> None:
    """Host time per call against GPU time per call on the default (fused, drawn-in-kernel) path."""
    from augment import datafix_pipeline

    aug = datafix_pipeline(size, "auto")
    device = "cuda" if torch.cuda.is_available() else "cpu"
    x = torch.randint(0, 256, (batch, 3, int(size * 8 / 7), int(size * 8 / 7)), dtype=torch.uint8, device=device)
    for _ in range(3):
        aug(x)
    _sync()
    calls = 50
    t0 = time.perf_counter()
    for _ in range(calls):
        aug(x)
    host = (time.perf_counter() - t0) / calls
    _sync()
    wall = (time.perf_counter() - t0) / calls
    print(f"augment {size} x {size}, B={batch} on {device}: host time per call {host * 1e6:.0f} us, wall per call "
          f"{wall * 1e6:.0f} us ({batch / wall:,.0f} img/s)", flush=True)
    activities = [torch.profiler.ProfilerActivity.CPU]
    if device == "cuda":
        activities.append(torch.profiler.ProfilerActivity.CUDA)
    with torch.profiler.profile(activities=activities) as prof:
        for _ in range(10):
            aug(x)
        _sync()
    sort = "cuda_time_total" if device == "cuda" else "cpu_time_total"
    print(prof.key_averages().table(sort_by=sort, row_limit=8, max_name_column_width=50), flush=True)
    if device != "cuda":
        return
    defaults = _fused.BLOCK, _fused.WARPS, _fused.PROGRAMS_PER_SM
    for factor in (2, 4, 8, 16, 32):  # programs per multiprocessor over the batch
        _fused.PROGRAMS_PER_SM = factor
        for b in (batch, 4 * batch):
            xb = torch.randint(0, 256, (b, *x.shape[1:]), dtype=torch.uint8, device=device)
            print(f"  {factor:>2} programs per SM, B={b}: {b / _wall(aug, xb):,.0f} img/s", flush=True)
    xb = torch.randint(0, 256, (4 * batch, *x.shape[1:]), dtype=torch.uint8, device=device)
    for block, warps, factor in ((1024, 8, 4), (2048, 8, 4), (2048, 4, 4), (512, 4, 8), (512, 2, 8), (256, 2, 16)):
        _fused.BLOCK, _fused.WARPS, _fused.PROGRAMS_PER_SM = block, warps, factor
        print(f"  block {block}, {warps} warps, {factor} programs per SM, B={4 * batch}: "
              f"{4 * batch / _wall(aug, xb):,.0f} img/s", flush=True)
    _fused.BLOCK, _fused.WARPS, _fused.PROGRAMS_PER_SM = defaults
    ids = torch.arange(batch, device=device)
    graph = torch.cuda.CUDAGraph()
    aug(x, sample_ids=ids)
    with torch.cuda.graph(graph):
        aug(x, sample_ids=ids)
    print(f"  keyed call replayed as a CUDA graph, B={batch}: {batch / _wall(lambda _: graph.replay(), x):,.0f} img/s",
          flush=True)


def launch_sweep(configs: list[tuple[int, int, int]]) -> None:
    """The fused kernel's launch settings (pixels per tile, warps, programs per multiprocessor) at
    the three sizes of issue 20's targets, timed as benchmarks/augment.py times them."""
    from augment import datafix_pipeline, time_torch

    defaults = _fused.BLOCK, _fused.WARPS, _fused.PROGRAMS_PER_SM
    for size, batch in ((224, 256), (224, 1024), (32, 1024)):
        source = int(size * 8 / 7)
        x = torch.randint(0, 256, (batch, 3, source, source), dtype=torch.uint8, device="cuda")
        for config in configs:
            _fused.BLOCK, _fused.WARPS, _fused.PROGRAMS_PER_SM = config
            seconds = time_torch(datafix_pipeline(size, "auto"), x, repeats=5)
            print(f"launch {size} x {size}, B={batch}: block {config[0]}, {config[1]} warps, {config[2]} programs "
                  f"per SM: {batch / seconds:,.0f} img/s", flush=True)
    _fused.BLOCK, _fused.WARPS, _fused.PROGRAMS_PER_SM = defaults


def _wall(fn, x, calls: int = 40) -> float:
    """Seconds per call over back-to-back calls (after three warm-up calls)."""
    for _ in range(3):
        fn(x)
    _sync()
    t0 = time.perf_counter()
    for _ in range(calls):
        fn(x)
    _sync()
    return (time.perf_counter() - t0) / calls


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--audit-n", type=int, default=1_000_000)
    parser.add_argument("--smote-n", type=int, default=1_000_000)
    parser.add_argument("--skip-audit", action="store_true")
    parser.add_argument("--skip-smote", action="store_true")
    parser.add_argument("--skip-augment", action="store_true")
    parser.add_argument("--launch-sweep", action="store_true",
                        help="time the fused kernel's launch settings at the target sizes")
    args = parser.parse_args()
    warnings.filterwarnings("ignore")
    print("device:", torch.cuda.get_device_name() if torch.cuda.is_available() else "CPU", flush=True)
    if args.launch_sweep:
        launch_sweep([(1024, 4, 4), (1024, 8, 4), (1024, 8, 2), (512, 4, 8), (256, 2, 16)])
    if not args.skip_augment:
        profile_augment()
    if not args.skip_smote:
        profile_smote(args.smote_n)
    if not args.skip_audit:
        profile_audit(args.audit_n)


if __name__ == "__main__":
    main()
