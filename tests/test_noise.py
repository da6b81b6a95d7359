"""nutune.noise is the one covariance-noise sampler: no other module of the package draws N(mean, C) itself."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np

from nutune.io import rng
from nutune.noise import covariance_noise

SRC = Path(__file__).resolve().parents[1] / "src" / "nutune"
#: Ways of drawing correlated Gaussian noise without nutune.noise.covariance_noise.
OWN_DRAWS = re.compile(r"multivariate_normal|@\s*\w*chol\w*\.T|chol\w*\s*@\s*\w*\.standard_normal")


def test_every_covariance_draw_goes_through_nutune_noise() -> None:
    offenders = [f"{path.relative_to(SRC)}:{number}: {line.strip()}"
                 for path in sorted(SRC.rglob("*.py")) if path.name != "noise.py"
                 for number, line in enumerate(path.read_text().splitlines(), 1)
                 if OWN_DRAWS.search(line) and not line.lstrip().startswith(("#", '"', "``"))]
    assert not offenders, "draw covariance noise with nutune.noise.covariance_noise:\n" + "\n".join(offenders)


def test_covariance_noise_is_numpys_draw() -> None:
    cov = np.array([[2.0, 0.3], [0.3, 1.0]])
    for method in ("svd", "eigh", "cholesky"):
        np.testing.assert_array_equal(covariance_noise(rng(1, "t"), cov, 5, method=method, mean=np.ones(2)),
                                      rng(1, "t").multivariate_normal(np.ones(2), cov, size=5, method=method))
