"""Audit a table with string labels, a categorical column and missing values; export the report.

Run: .venv/bin/python examples/audit_dataframe.py
"""

import numpy as np

import datafix as dfx


def main() -> None:
    data = dfx.datasets.load_noisy("wine", noise=0.1, random_state=3)
    df = data.frame("cultivar")
    df.index = [f"bottle-{i:03d}" for i in range(len(df))]
    df["region"] = np.where(df["alcohol"] > 13, "north", "south")   # a categorical column
    df.loc[["bottle-010", "bottle-020"], "magnesium"] = np.nan        # two rows with missing values

    report = dfx.audit(df, labels="cultivar", nan_policy="impute", verbose=False)
    print(report.summary())
    print(report.flagged("label")[["label_score", "given_label", "suggested_label"]].head())
    report.save("wine-audit.parquet")  # indexed by bottle id, labels as cultivar names
    print("truly flipped among the flagged:", int(data.is_label_error[report.issues["is_label_issue"].to_numpy(bool)].sum()))


if __name__ == "__main__":
    main()
