"""project/formats.py: the scikit-learn version a pickled estimator records, read from its bytes (never
unpickled), so init can say which scikit-learn to pin - an SDK v1 model is often years older than the pin."""
from __future__ import annotations

import io
import pickle

import joblib
import pytest
import sklearn.base
from sklearn.linear_model import LogisticRegression

from mldeploy.project.formats import pickle_sklearn_version, read_model


def _fitted():
    return LogisticRegression(max_iter=200).fit([[0.0, 1.0], [1.0, 0.0], [0.5, 0.5], [0.9, 0.1]], [0, 1, 0, 1])


@pytest.mark.parametrize("protocol", [2, 3, 4, 5])
def test_the_version_is_read_from_every_protocol(monkeypatch, protocol):
    monkeypatch.setattr(sklearn.base, "__version__", "1.5.2")
    assert pickle_sklearn_version(pickle.dumps(_fitted(), protocol=protocol)) == "1.5.2"


def test_a_compressed_joblib_file_is_read_too(monkeypatch, tmp_path):
    monkeypatch.setattr(sklearn.base, "__version__", "0.24.2")
    joblib.dump(_fitted(), tmp_path / "m.pkl", compress=3)
    assert read_model(tmp_path / "m.pkl", "m.pkl").sklearn_version == "0.24.2"


def test_a_pickle_without_an_estimator_has_none():
    buffer = io.BytesIO()
    pickle.dump({"_sklearn_version": 3}, buffer)
    assert pickle_sklearn_version(buffer.getvalue()) is None
    assert pickle_sklearn_version(pickle.dumps([1, 2, 3])) is None
