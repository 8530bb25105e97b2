"""
The audit on a Ray cluster, and the fix as a stream
===================================================

When a dataset outgrows one machine, :func:`datafix.scale.audit_ray` runs the audit on Ray Data
(``pip install 'datafix[ray]'``): blocks stream through the cluster, the neighbour index is
sharded over actors, and the report comes back with one row per sample, as the single-machine
audit's does. This example starts a local two-CPU cluster, audits the noisy digits as a Ray
Dataset, compares the result with :func:`datafix.audit` on the same rows, and applies the fix
as a lazy filter of the Ray Dataset. ``ray.init(address="auto")`` (or ``--address`` on the
command line) joins an existing cluster instead.
"""

import tempfile
from pathlib import Path

import ray

import datafix as dfx
from datafix.fix import DropLabelIssues, DropNearDuplicates, Pipeline
from datafix.scale import apply_plan, audit_ray

data = dfx.datasets.load_noisy("digits", noise=0.15, n_duplicates=10, random_state=0)
frame = data.frame("digit")
ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, object_store_memory=600 * 1024**2)
dataset = ray.data.from_pandas(frame).repartition(4)   # four blocks, as if read from four files

# %%
# Audit on the cluster
# --------------------
output = Path(tempfile.mkdtemp()) / "digits-report"
report = audit_ray(dataset, labels="digit", output=output, verbose=False)
report.summary().query("status == 'ran'")

# %%
# The same rows on one machine: the flags agree (the checks share one code path; the Ray engine
# differs only in where the numbers are computed).
local = dfx.audit(frame, labels="digit", verbose=False)
for flag in ["is_label_issue", "is_duplicate", "is_outlier"]:
    same = (report.issues[flag].to_numpy(bool) == local.issues[flag].to_numpy(bool)).mean()
    print(f"{flag:>15}: {report.issues[flag].sum():4d} on Ray, {local.issues[flag].sum():4d} locally, "
          f"{same:.1%} of rows agree")

# %%
# The report folder (partitioned Parquet, ``report.json``, ``report.html``) reads back whole, by
# columns, or lazily: a :class:`~datafix.report.LazyReport` counts flags in the files and reads
# only the flagged rows, so a report of a hundred million rows opens on a laptop.
print(sorted(p.name for p in output.iterdir()))
lazy = dfx.report.LazyReport.read_parquet(output)
print(lazy)
lazy.flagged("label", columns=["given_label", "suggested_label", "label_score"]).head()

# %%
# The fix, streamed
# -----------------
# A plan needs only the report; :func:`~datafix.scale.apply_plan` applies it to the Ray Dataset
# as a lazy filter (nothing is collected on the driver), ready for ``write_parquet`` or
# ``iter_torch_batches``.
plan = Pipeline([DropLabelIssues(), DropNearDuplicates()]).fit(None, report=report)
fixed = apply_plan(dataset, plan, labels="digit")
print(f"{fixed.count()} of {dataset.count()} rows kept;", plan.counts_line())
kept_truth = ~data.is_label_error[plan.samples["kept"].to_numpy(bool)]
print(f"labels right among the kept rows: {kept_truth.mean():.1%} (before: {(~data.is_label_error).mean():.1%})")
ray.shutdown()
