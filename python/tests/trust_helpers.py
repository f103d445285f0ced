"""Objects outside scikit-learn, as a user's own package would define them.

Used by test_trust.py and test_dump_load.py: ark stores them by name and
loads them only when the caller trusts them.
"""
import enum
from json import dumps  # noqa: F401  (a re-export: must not load as "trust_helpers.dumps")

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin


def double(X):
    """A module-level function: storable by name."""
    return np.asarray(X) * 2.0


class Scaler(TransformerMixin, BaseEstimator):
    def __init__(self, factor=2.0):
        self.factor = factor

    def fit(self, X, y=None):
        self.scale_ = np.full(np.asarray(X).shape[1], self.factor)
        return self

    def transform(self, X):
        return np.asarray(X) * self.scale_


class Slotted:
    __slots__ = ("a", "b")

    def __init__(self, a, b):
        self.a, self.b = a, b


class Color(enum.Enum):
    RED = 1
    BLUE = 2


class Node:
    """A plain object that may point at itself."""

    def __init__(self, name):
        self.name = name
        self.children = []
        self.parent = None
