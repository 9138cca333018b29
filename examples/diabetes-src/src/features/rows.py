import numpy as np

N_FEATURES = 10


def rows_of(body: dict) -> np.ndarray:
    """The request's `data` as a float array of rows of N_FEATURES finite numbers, or ValueError."""
    if not isinstance(body, dict) or "data" not in body:
        raise ValueError("the request must be {\"data\": [[...], ...]}")
    rows = np.asarray(body["data"], dtype=float)
    if rows.ndim != 2 or rows.shape[1] != N_FEATURES or not np.all(np.isfinite(rows)):
        raise ValueError(f"'data' must be rows of {N_FEATURES} finite numbers")
    return rows
