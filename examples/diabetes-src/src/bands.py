"""A helper module next to score.py: the disease progression as a band."""

HIGH = 200.0


def band(progression: float) -> str:
    return "high" if progression >= HIGH else "low"
