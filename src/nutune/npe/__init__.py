"""Neural posterior estimation (NPE) of the four GENIE dials: training, pickle-free storage and loading.

Implements the network of arXiv:2510.07454 / arXiv:2603.09778 (paper.md §4.4, §6) with ``sbi`` 0.27
(``sbi.inference.NPE`` = NPE-C of Greenberg et al. 2019, single round = maximum likelihood):

* **Embedding net**: MLP ``bins -> embedding_hidden[0] -> ReLU -> embedding_hidden[1] -> ReLU -> embedding_dim``
  (P25: 58 -> 45 -> 32 -> 24), feeding
* **a conditional flow**: ``sbi.neural_nets.posterior_nn(model=density_estimator, num_transforms, hidden_features)``
  (P25: MAF, 6 x 55; ``nsf`` allowed), trained with Adam, ``batch_size``, ``learning_rate``, early stopping after
  ``stop_after_epochs`` epochs without validation improvement, ``validation_fraction`` held out by sbi.
* **theta preprocessing**: u = (theta - low) / (high - low) with the *configured prior box* (the authors used the
  data set's own min/max, paper.md §4.4; using the box makes the prior exactly ``BoxUniform([0, 1]^4)``).
  sbi then z-scores u.
* **x preprocessing**: ``max`` divides every histogram by one global scalar, the maximum of the *noise-free*
  training histograms (paper.md §4.4; stored in the metadata and reused for every observed input); ``log`` takes
  log(x) (strictly positive inputs only). sbi then z-scores each bin.
* **noise-aware training** (``noise: covariance``, an extension beyond the papers, paper.md §12 caveat 2): each
  training row gets one fixed draw x + eps, eps ~ N(0, C), with C the sum of the configured T2K covariance
  components (passed in as an array). The draws come from ``nutune.io.rng(seed, "npe", member, "noise")``, so
  every ensemble member sees its own noise realisation. Noisy x can be negative: ``max`` still works (a global
  scale), ``log`` is refused.
* **post-hoc marginal calibration** (``calibration: marginal``, nutune's addition): after training, one elementwise
  monotone spline on the flow's base coordinates is fitted by maximum likelihood on sbi's validation rows
  (:func:`fit_marginal_calibration`) and appended to the flow; ``none`` keeps the papers' network as trained.
* **ensembles**: member k is trained with torch seed ``derive_seed(seed, "npe", k)`` (weight init, validation
  split, batch order); :class:`NutunePosterior` mixes members with equal weights.

Artefacts (path grammar ``results/model/npe_{member}.*``, :mod:`nutune.paths`) are written atomically and never
pickled: the density estimator's ``state_dict`` as safetensors, JSON metadata with everything needed to rebuild the
exact network, and the loss curve as CSV. :func:`load_posterior` rebuilds the network from the metadata, checks it
against what the caller expects and refuses mismatches with a ``ValueError``.

The package, by concern (imports point downwards only):

* :mod:`~nutune.npe.spec`           allowed choices (from the config schema), settings -> metadata blocks, input checks
* :mod:`~nutune.npe.preprocessing`  theta -> unit box, x transform, training noise
* :mod:`~nutune.npe.networks`       embedding net + sbi flow, built from the ``network`` metadata block
* :mod:`~nutune.npe.calibration`    the post-hoc marginal calibration layer and its fit
* :mod:`~nutune.npe.training`       :func:`train_npe` (the orchestrator) and sbi's training loop hooks
* :mod:`~nutune.npe.sampling`       seeded proposals and the truncated rejection sampler
* :mod:`~nutune.npe.posterior`      :class:`NutunePosterior` (coordinate maps, sampling, densities)
* :mod:`~nutune.npe.artefacts`      :func:`save_npe`, :func:`load_posterior` (safetensors + JSON + CSV)
* :mod:`~nutune.npe._sbi_compat`    every use of sbi's / nflows' private internals (pinned by tests/test_sbi_compat.py)
"""

from __future__ import annotations

from nutune.npe.artefacts import load_posterior, save_npe
from nutune.npe.calibration import base_coordinates, fit_marginal_calibration
from nutune.npe.networks import build_embedding_net
from nutune.npe.posterior import NutunePosterior
from nutune.npe.spec import METADATA_FORMAT, resolve_device
from nutune.npe.training import TrainedNPE, train_npe

__all__ = [
    "METADATA_FORMAT",
    "TrainedNPE",
    "NutunePosterior",
    "build_embedding_net",
    "base_coordinates",
    "fit_marginal_calibration",
    "train_npe",
    "save_npe",
    "load_posterior",
    "resolve_device",
]
