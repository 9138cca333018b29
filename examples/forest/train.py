"""Train the batching example: a 300-tree random forest on scikit-learn's diabetes data (bundled,
no download). Its predict costs about the same for 1 row as for 32 (per-tree overhead, not
per-row work), so batching several requests' rows into one run() call multiplies throughput
(README, "Batching").

    python examples/forest/train.py          # -> examples/forest/outputs/forest.pkl
"""
from __future__ import annotations

import argparse
from pathlib import Path

import joblib
from sklearn.datasets import load_diabetes
from sklearn.ensemble import RandomForestRegressor

HERE = Path(__file__).resolve().parent
DEFAULT_OUTPUT = HERE / "outputs" / "forest.pkl"
TREES = 300


def train(trees: int = TREES) -> RandomForestRegressor:
    features, target = load_diabetes(return_X_y=True)
    # n_jobs=None: predict on one core, as each scorer worker does; a fixed seed: the same file
    # (and so the same image digest) on every run.
    return RandomForestRegressor(n_estimators=trees, min_samples_leaf=5, random_state=0).fit(features, target)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT)
    args = parser.parse_args()
    model = train()
    args.output.parent.mkdir(parents=True, exist_ok=True)
    joblib.dump(model, args.output)
    print(f"trained RandomForestRegressor({TREES} trees) on 442 rows x 10 features -> {args.output}")


if __name__ == "__main__":
    main()
