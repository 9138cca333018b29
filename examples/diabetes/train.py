"""Train the guide's diabetes regression model on scikit-learn's bundled data (no download).

    python examples/diabetes/train.py            # both versions the example stacks register:
        # outputs/sklearn_regression_model.pkl     Ridge(alpha=0.5): version 1 (every stack)
        # outputs/v2/sklearn_regression_model.pkl  Ridge(alpha=0.1): version 2 (stack managed's green; the
        #                                          same file name: score.py loads the model by name)
    python examples/diabetes/train.py --alpha 0.2 --output my_model.pkl   # one model
"""
from __future__ import annotations

import argparse
from pathlib import Path

import joblib
from sklearn.datasets import load_diabetes
from sklearn.linear_model import Ridge

HERE = Path(__file__).resolve().parent
DEFAULT_OUTPUT = HERE / "outputs" / "sklearn_regression_model.pkl"
# The retrained model blue/green rolls out: the same data, less regularization.
VERSION_2_OUTPUT = HERE / "outputs" / "v2" / "sklearn_regression_model.pkl"
VERSIONS = {DEFAULT_OUTPUT: 0.5, VERSION_2_OUTPUT: 0.1}


def train(alpha: float = 0.5) -> Ridge:
    features, target = load_diabetes(return_X_y=True)
    return Ridge(alpha=alpha).fit(features, target)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--alpha", type=float, default=None, help="with --output: train one model")
    parser.add_argument("--output", type=Path, default=None, help="with --alpha: where to write it")
    args = parser.parse_args()
    if args.output is None and args.alpha is None:
        jobs = VERSIONS
    else:
        jobs = {args.output or DEFAULT_OUTPUT: 0.5 if args.alpha is None else args.alpha}
    for output, alpha in jobs.items():
        model = train(alpha)
        output.parent.mkdir(parents=True, exist_ok=True)
        joblib.dump(model, output)
        print(f"trained Ridge(alpha={alpha}) on 442 rows x 10 features -> {output}")


if __name__ == "__main__":
    main()
