"""Train the guide's diabetes regression model on scikit-learn's bundled data (no download).

    python examples/diabetes/train.py            # writes examples/diabetes/outputs/sklearn_regression_model.pkl
"""
from __future__ import annotations

import argparse
from pathlib import Path

import joblib
from sklearn.datasets import load_diabetes
from sklearn.linear_model import Ridge

HERE = Path(__file__).resolve().parent
DEFAULT_OUTPUT = HERE / "outputs" / "sklearn_regression_model.pkl"


def train(alpha: float = 0.5) -> Ridge:
    features, target = load_diabetes(return_X_y=True)
    return Ridge(alpha=alpha).fit(features, target)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--alpha", type=float, default=0.5)
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT)
    args = parser.parse_args()
    model = train(args.alpha)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    joblib.dump(model, args.output)
    print(f"trained Ridge(alpha={args.alpha}) on 442 rows x 10 features -> {args.output}")


if __name__ == "__main__":
    main()
