"""The audit past one machine (issue 21): ``datafix.scale.audit_ray`` on a local Ray cluster against
the single-machine ``datafix.audit`` on the same rows.

Data: generated block by block (the property under test is size, so it must be controlled): n rows of
d = 128 columns from 10 Gaussian classes (one rare, 0.5 %), 10 % of the labels flipped to another
common class, 1 % outliers (4x the spread), 1 % near-copies of another row, and the Bayes
probabilities of the clean classes as ``pred_probs`` columns (as ``audit_speed.py --scale``). The
Ray run never holds the table on the driver: each block is made by a Ray task from its block number.

Measured: wall time; peak memory of the driver (its largest resident set) and of the whole machine
(total minus available memory, sampled every 0.5 s, less the level before the run: the Ray cluster
is this machine); precision and recall of the injected label errors, outliers and copies.

    python benchmarks/scale.py --n 1000000 --engine ray      # one engine per process
    python benchmarks/scale.py --n 1000000 --compare         # both, each in its own process
    python benchmarks/scale.py --graph-recall 100000         # the IVF index's recall@10 vs the exact graph
    python benchmarks/scale.py --n 1000000 --compare --task regression   # a regression target instead

With ``--task regression`` the same rows carry a regression target instead of classes: the Bayes
prediction ``x . w + sin(x0)`` plus noise (sd 0.3), 1 % of the targets moved by 4 to 8 noise
spreads, and that Bayes prediction given as the ``predictions`` column.

Prints only; the figures go into docs/benchmarks.md and docs/scale.md.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import threading
import time
import warnings

import numpy as np
import pandas as pd

D, K, SEED = 128, 10, 0
X_COLUMNS = [f"x{j}" for j in range(D)]
P_COLUMNS = [f"p{j}" for j in range(K)]


def make_block(block: int, rows: int, seed: int = SEED) -> pd.DataFrame:
    """Rows ``block * rows ...`` of the generated table (the same for a given block and seed)."""
    centers = np.random.default_rng(seed).normal(0.0, 1.0, (K, D)) * 0.6
    rng = np.random.default_rng([seed, block])
    share = np.r_[np.full(K - 1, 0.995 / (K - 1)), 0.005]
    y_true = rng.choice(K, size=rows, p=share)
    X = centers[y_true] + rng.normal(0.0, 1.0, (rows, D))
    logits = -((X[:, None, :] - centers[None]) ** 2).sum(-1) / 2.0
    P = np.exp(logits - logits.max(1, keepdims=True))
    P /= P.sum(1, keepdims=True)
    y = y_true.copy()
    flip = rng.random(rows) < 0.10
    y[flip] = (y_true[flip] + rng.integers(1, K - 1, flip.sum())) % (K - 1)
    order = rng.permutation(rows)
    out_idx, src, dst = order[: rows // 100], order[rows // 100 : rows // 50], order[rows // 50 : 3 * rows // 100]
    X[out_idx] = rng.normal(0.0, 1.0, (len(out_idx), D)) * 4.0
    X[dst] = X[src] + rng.normal(0.0, 1e-3, (len(dst), D))
    P[dst], y[dst], y_true[dst] = P[src], y[src], y_true[src]
    frame = pd.DataFrame(X.astype(np.float32), columns=X_COLUMNS)
    frame[P_COLUMNS] = P
    frame["y"] = y
    frame["truth_label"] = y != y_true
    frame["truth_outlier"] = np.isin(np.arange(rows), out_idx)
    frame["truth_duplicate"] = np.isin(np.arange(rows), np.r_[src, dst])
    return frame


def make_regression_block(block: int, rows: int, seed: int = SEED) -> pd.DataFrame:
    """:func:`make_block`'s rows, outliers and copies with a regression target instead of classes."""
    frame = make_block(block, rows, seed)
    X = frame[X_COLUMNS].to_numpy(np.float64)
    w = np.random.default_rng([seed, 1]).normal(0.0, 1.0, D) / np.sqrt(D)
    rng = np.random.default_rng([seed, block, 1])
    fitted = X @ w + np.sin(X[:, 0])
    target = fitted + rng.normal(0.0, 0.3, rows)
    moved = rng.random(rows) < 0.01
    target[moved] += rng.choice([-1.0, 1.0], moved.sum()) * rng.uniform(4.0, 8.0, moved.sum()) * 0.3
    frame = frame.drop(columns=[*P_COLUMNS, "y", "truth_label"])
    frame["target"], frame["fitted"], frame["truth_label"] = target, fitted, moved
    return frame


def used_memory() -> int:
    """Bytes in use on this machine: MemTotal - MemAvailable (/proc/meminfo; shared memory, where
    Ray's object store lives, counts as used)."""
    fields = dict(line.split(":", 1) for line in open("/proc/meminfo").read().splitlines())
    return (int(fields["MemTotal"].split()[0]) - int(fields["MemAvailable"].split()[0])) * 1024


class MemoryPeak:
    """The machine's peak of used memory over a run, less the level before it."""

    def __init__(self) -> None:
        self.base = self.peak = used_memory()
        self.running = True
        self.thread = threading.Thread(target=self._sample, daemon=True)
        self.thread.start()

    def _sample(self) -> None:
        while self.running:
            self.peak = max(self.peak, used_memory())
            time.sleep(0.5)

    def stop(self) -> float:
        self.running = False
        self.thread.join()
        return (self.peak - self.base) / 2**30


def scores(issues: pd.DataFrame, truth: pd.DataFrame) -> dict[str, float]:
    out = {}
    for check, flag in (("label", "is_label_issue"), ("outlier", "is_outlier"), ("duplicate", "is_duplicate")):
        found = issues[flag].fillna(False).to_numpy(bool)
        true = truth[f"truth_{check}"].to_numpy(bool)
        out[f"{check}_precision"] = round(float((found & true).sum() / max(found.sum(), 1)), 4)
        out[f"{check}_recall"] = round(float((found & true).sum() / max(true.sum(), 1)), 4)
    return out


def run_engine(engine: str, n: int, blocks: int, object_store_gib: float | None = None,
               task: str = "classification") -> dict:
    rows = n // blocks
    regression = task == "regression"
    make = make_regression_block if regression else make_block
    checks = ["label", "outlier", "duplicate", "null"] + ([] if regression else ["class_imbalance"])
    labels = {"labels": "target", "task": "regression"} if regression else {"labels": "y"}
    memory = MemoryPeak()
    started = time.perf_counter()
    if engine == "local":
        import datafix as dfx

        table = pd.concat([make(b, rows) for b in range(blocks)], ignore_index=True)
        truth = table[["truth_label", "truth_outlier", "truth_duplicate"]]
        given = ({"predictions": table["fitted"].to_numpy()} if regression else
                 {"pred_probs": table[P_COLUMNS].to_numpy()})
        report = dfx.audit(table[[*X_COLUMNS, labels["labels"]]], **labels, **given, checks=checks, verbose=False)
    else:
        import ray

        from datafix.scale import audit_ray

        store = None if object_store_gib is None else int(object_store_gib * 2**30)
        ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, object_store_memory=store)
        ds = ray.data.range(blocks, override_num_blocks=blocks).map_batches(
            lambda batch: make(int(batch["id"][0]), rows), batch_size=1, batch_format="numpy")
        given = {"predictions": "fitted"} if regression else {"pred_probs": P_COLUMNS}
        report = audit_ray(ds, **labels, feature_columns=X_COLUMNS, **given, checks=checks, verbose=False)
        truth = pd.concat([make(b, rows)[["truth_label", "truth_outlier", "truth_duplicate"]]
                           for b in range(blocks)], ignore_index=True)  # after the run: not in its peak
    seconds = time.perf_counter() - started
    machine = memory.stop()
    driver = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20
    result = {"engine": engine, "task": task, "n": n, "seconds": round(seconds, 1), "driver_peak_gib": round(driver, 2),
              "machine_peak_gib": round(machine, 2), "neighbors": report.signals.get("neighbors"),
              **scores(report.issues, truth)}
    print(json.dumps(result), flush=True)
    return result


def graph_recall(n: int) -> None:
    """Recall@10 of the IVF search (the single machine's, which the Ray engine spreads over shards with
    the same centroids and pools, so the same graph) against datafix's exact graph, standardised rows."""
    from datafix.signals import knn_graph

    blocks = max(1, n // 50_000)
    X = pd.concat([make_block(b, n // blocks) for b in range(blocks)], ignore_index=True)[X_COLUMNS].to_numpy(
        np.float64)
    X = (X - X.mean(0)) / X.std(0)
    exact = knn_graph(X, 10, standardize=False, knn_backend="exact")
    local = knn_graph(X, 10, standardize=False, knn_backend="ivf").indices
    hits = np.mean([len(np.intersect1d(local[i], exact.indices[i])) / 10 for i in range(len(X))])
    print(f"graph recall@10, n={len(X):,}, the IVF search (knn_graph knn_backend='ivf', the Ray engine's): {hits:.4f}",
          flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=1_000_000)
    parser.add_argument("--blocks", type=int, default=None, help="blocks of the generated data (default n / 25,000)")
    parser.add_argument("--engine", choices=["ray", "local"], default="ray")
    parser.add_argument("--compare", action="store_true", help="run both engines, each in a new process")
    parser.add_argument("--object-store-gib", type=float, default=None,
                        help="Ray's object store size (default Ray's: 30%% of memory); beyond it Ray spills to disk")
    parser.add_argument("--graph-recall", type=int, default=None, metavar="N")
    parser.add_argument("--task", choices=["classification", "regression"], default="classification",
                        help="what the label column holds (default: %(default)s)")
    args = parser.parse_args()
    warnings.filterwarnings("ignore")
    if args.graph_recall:
        graph_recall(args.graph_recall)
        return
    blocks = args.blocks or max(1, args.n // 25_000)
    if not args.compare:
        run_engine(args.engine, args.n, blocks, args.object_store_gib, args.task)
        return
    results = {}
    for engine in ("local", "ray"):
        done = subprocess.run([sys.executable, __file__, "--n", str(args.n), "--blocks", str(blocks), "--engine",
                               engine, "--task", args.task], capture_output=True, text=True)
        lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
        results[engine] = json.loads(lines[-1]) if lines else {"engine": engine, "error": done.stderr[-800:]}
        print(json.dumps(results[engine]), flush=True)
    if "seconds" in results["local"] and "seconds" in results["ray"]:
        print(f"ray / local wall time: {results['ray']['seconds'] / results['local']['seconds']:.2f}x; machine peak "
              f"{results['ray']['machine_peak_gib']} vs {results['local']['machine_peak_gib']} GiB", flush=True)


if __name__ == "__main__":
    main()
