"""Cut ETTm1 into four series, one per quarter of its first year, as a long table for a panel run.

    python data/make_ettm1_quarters.py [--data-dir ../shared/data]   # writes data/ETTm1-quarters.csv

ETTm1 (CC BY-ND 4.0) is not shipped with rnnforecast; this makes the panel from your copy of it.
Then: rnnforecast train configs/ettm1-quarters.yaml
"""

import argparse
from pathlib import Path

import pandas as pd


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data-dir", type=Path, default=Path(__file__).resolve().parents[2] / "shared" / "data")
    parser.add_argument("--output", type=Path, default=Path(__file__).resolve().parent / "ETTm1-quarters.csv")
    args = parser.parse_args()
    table = pd.read_csv(args.data_dir / "ETTm1.csv", parse_dates=["date"])
    quarter = table["date"].dt.to_period("Q").astype(str)
    first_year = quarter.isin(sorted(quarter.unique())[:4])
    table = table[first_year].assign(quarter=quarter[first_year])
    table[["quarter"] + [c for c in table.columns if c != "quarter"]].to_csv(args.output, index=False)
    print(f"{args.output}: {table['quarter'].nunique()} series, {len(table)} rows")


if __name__ == "__main__":
    main()
