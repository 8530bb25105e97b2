"""datafix: find and fix what is wrong with training data before training.

Examples
--------
>>> import datafix as dfx
>>> data = dfx.datasets.load_noisy("iris", noise=0.1, random_state=0)
>>> report = dfx.audit(data.X, labels=data.y, verbose=False)
>>> list(report.summary().index[:4])
['broken', 'label', 'label_values', 'outlier']
"""

from datafix import augment, balance, checks, data, datasets, errors, fix, scale, signals, synth
from datafix._version import __version__
from datafix.audit import audit
from datafix.report import Report

__all__ = ["Report", "__version__", "audit", "augment", "balance", "checks", "data", "datasets", "errors", "fix", "scale", "signals", "synth"]
