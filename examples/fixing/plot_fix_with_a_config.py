"""
Fix a table from a config file, in Python or from the command line
===================================================================

A fix is a :class:`~datafix.fix.Pipeline` of steps: it turns an audit into a
:class:`~datafix.fix.Plan` and never touches the source. The same pipeline can live in a YAML
file that the ``datafix fix`` command reads, so the cleaning a project agreed on is versioned
with its code. The data: scikit-learn's breast-cancer table (569 real tumours, 30 measurements),
with 8 % of its diagnoses flipped and five rows copied.
"""

import tempfile
from pathlib import Path

import pandas as pd

import datafix as dfx
from datafix.fix import DropLabelIssues, DropNearDuplicates, Pipeline, Relabel, Reweight

data = dfx.datasets.load_noisy("breast_cancer", noise=0.08, n_duplicates=5, random_state=1)
table = data.frame("diagnosis")
folder = Path(tempfile.mkdtemp())
table.to_csv(folder / "tumours.csv", index=False)

# %%
# A pipeline and its config
# -------------------------
# Relabel only what the evidence is sure of, then down-weight (not drop) the other doubtful
# rows, and keep one row of each group of copies.
pipeline = Pipeline([Relabel(min_confidence=0.95), Reweight(floor=0.2), DropNearDuplicates()],
                    max_drop_share=0.3)
config = folder / "cleaning.yaml"
config.write_text(__import__("yaml").safe_dump(pipeline.to_config(), sort_keys=False))
print(config.read_text())

# %%
# In Python
# ---------
plan = Pipeline.from_config(config).fit(table, "diagnosis", verbose=False)
plan.summary()

# %%
# What happened to one row; the fixed table (the user's strings as labels, every column and
# dtype kept); and each row's fate, label and training weight:
print(plan.explain(plan.changes.index[0]))
print(plan.to_frame().shape, "fixed table")
plan.samples[plan.samples["weight"] < 1].head()

# %%
# Undo a step without auditing again: the plan is rebuilt from the same report.
print("with every step:   ", plan.counts_line())
print("without reweight:  ", plan.undo("reweight").counts_line())
stricter = Pipeline([DropLabelIssues(), DropNearDuplicates()]).fit(table, "diagnosis", report=plan.report)
print("dropping instead:  ", stricter.counts_line())

# %%
# From the command line
# ---------------------
# The same config, the same result; the input file is never written to, and the output appears
# whole or not at all (written to a temporary file, then renamed).
from datafix.cli import main  # the ``datafix`` command

before = (folder / "tumours.csv").read_bytes()
main(["fix", str(folder / "tumours.csv"), "--label", "diagnosis", "--config", str(config), "-q",
      "-o", str(folder / "tumours-fixed.csv"), "--report", str(folder / "tumours-fix.html")])
assert (folder / "tumours.csv").read_bytes() == before
fixed = pd.read_csv(folder / "tumours-fixed.csv")
print(f"{len(fixed)} rows written, columns: {list(fixed.columns)[-3:]}")
