"""A user-defined estimator, as a team would write one in its own package.

Used by test_pipelines.py: ark must refuse to load it unless the caller names
it in `trusted=` (it is not scikit-learn's own code).
"""
import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin


class QuantileClipper(TransformerMixin, BaseEstimator):
    """Clips each feature to its [lower, upper] training quantiles."""

    def __init__(self, lower=0.05, upper=0.95):
        self.lower = lower
        self.upper = upper

    def fit(self, X, y=None):
        X = self._validate_data(X)
        self.low_, self.high_ = np.quantile(X, [self.lower, self.upper], axis=0)
        return self

    def transform(self, X):
        X = self._validate_data(X, reset=False)
        return np.clip(X, self.low_, self.high_)
