"""Claim 9's linear comparator: the best linear classifier, fitted properly.

Logistic regression (scikit-learn's `LogisticRegression`, multinomial, lbfgs: convex, so
one fit per penalty is the fit) on the flattened images, with its inverse L2 penalty `C`
chosen on the validation split from a grid fixed in the protocol. scikit-learn comes with
keras-tuner's Bayesian extra.
"""

import time
import warnings

import numpy as np


def logistic_regression(data, c_grid, max_iter=300):
    """Fits one model per `C` in `c_grid`; returns the validation-chosen one's accuracies.

    Returns:
        `{"c_grid", "valid_by_c", "best_c", "at_edge", "train_accuracy", "valid_accuracy",
        "test_accuracy", "converged", "seconds"}`.
    """
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.linear_model import LogisticRegression

    def flat(x):
        return np.asarray(x, dtype="float64").reshape(len(x), -1)

    x_train, x_valid, x_test = flat(data.x_train), flat(data.x_valid), flat(data.x_test)
    began = time.perf_counter()
    fits, valid, converged = {}, {}, {}
    for c in c_grid:
        model = LogisticRegression(C=float(c), max_iter=max_iter)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", ConvergenceWarning)
            model.fit(x_train, data.y_train)
        converged[str(c)] = not any(issubclass(w.category, ConvergenceWarning) for w in caught)
        fits[c] = model
        valid[c] = float(model.score(x_valid, data.y_valid))
    best = max(c_grid, key=lambda c: (valid[c], -c))
    model = fits[best]
    return {"c_grid": [float(c) for c in c_grid], "valid_by_c": {str(c): v for c, v in valid.items()},
            "best_c": float(best), "at_edge": best in (c_grid[0], c_grid[-1]),
            "train_accuracy": float(model.score(x_train, data.y_train)),
            "valid_accuracy": valid[best],
            "test_accuracy": float(model.score(x_test, data.y_test)),
            "converged": converged, "seconds": time.perf_counter() - began}
