"""The ``results/`` path grammar, written once: every artefact of the workflow, its pattern and what it holds.

``workflow/rules/common.smk`` builds its paths from the constants below; every other ``results/...`` string in the
rule files must match one of :data:`GRAMMAR` (``tests/test_paths.py``), and the docs point here
(``python -m nutune.paths`` prints the table). Wildcards: ``{split}`` in {train, test}; ``{shard}`` 5 digits;
``{member}`` 0 .. n_ensemble-1 (npe's, or likelihood_modes' under ``likelihood_modes/``); ``{replicate}`` 1 .. stability.n_replicates-1; ``{obs}`` a key of ``observations`` (``{data_obs}`` a data one); ``{table}``,
``{figure}`` a file stem; ``{ext}`` the file type; ``{mode}`` a χ² mode other than FULL; ``{part}`` a part of a
joint measurement (``nutune.measurements.joint``).

Every config writes under its own prefix, the config key ``results_dir`` (:func:`prefixed`): the paper config
``config/config.yaml`` has ``results_dir: results`` and writes exactly the paths below (its tables and figures are
committed); any other config names a sub-directory, e.g. ``results_dir: results/tiny`` (``config/test_config.yaml``)
writes ``results/tiny/tables/t2k.csv`` and logs to ``logs/tiny/{rule}/{name}.log``, so a tiny or a user run never
overwrites the paper's results. :func:`results_dir_errors` says which prefixes are allowed.
"""

from __future__ import annotations

import re

__all__ = [
    "PARAMS", "SHARD", "BANK", "MODEL", "LOSS", "TEST_POSTERIORS", "METRICS", "GATE", "REFERENCE_MODEL",
    "REFERENCE_LOSS", "REFERENCE_TEST_POSTERIORS", "REFERENCE_METRICS", "REFERENCE_SAMPLES", "OBSERVATION",
    "POSTERIOR", "THROWS", "MISSPECIFICATION", "MARGINAL_FLOW", "TABLE", "FIGURE", "SUMMARY", "REPORT_TABLE", "REPORT_LANDING",
    "GENIE", "STABILITY_HEADLINES", "STABILITY_TABLE", "LIKELIHOOD_MODEL", "LIKELIHOOD_LOSS", "PART_MODEL",
    "PART_LOSS", "PART_POSTERIOR", "LOG", "GRAMMAR",
    "matches", "grammar_text",
    "RESULTS", "LOGS", "PAPER_CONFIG", "RESERVED_NAMES", "prefixed", "log_dir", "results_dir_errors",
]

#: The paper config's results prefix and log directory (every pattern below starts with one of them).
RESULTS = "results"
LOGS = "logs"
#: The one config that may write under the bare ``results/`` prefix (its outputs are committed).
PAPER_CONFIG = "config/config.yaml"

PARAMS = "results/bank/params_{split}.h5"
SHARD = "results/bank/shards/{split}/shard_{shard}.h5"
BANK = "results/bank/{split}.h5"
MODEL = "results/model/npe_{member}.{ext}"
LOSS = "results/model/loss_{member}.csv"
TEST_POSTERIORS = "results/diagnostics/test_posteriors.npz"
METRICS = "results/diagnostics/metrics.json"
GATE = "results/diagnostics/gate.json"
REFERENCE_MODEL = "results/reference/model/npe_0.{ext}"
REFERENCE_LOSS = "results/reference/model/loss_0.csv"
REFERENCE_TEST_POSTERIORS = "results/reference/diagnostics/test_posteriors.npz"
REFERENCE_METRICS = "results/reference/diagnostics/metrics.json"
REFERENCE_SAMPLES = "results/reference/reference_samples.npz"
OBSERVATION = "results/observations/{obs}.csv"
POSTERIOR = "results/posteriors/{obs}.npz"
THROWS = "results/throws/{obs}.npz"
MISSPECIFICATION = "results/misspecification/{obs}.csv"
MARGINAL_FLOW = "results/misspecification/marginal_flow.safetensors"
TABLE = "results/tables/{table}.csv"
FIGURE = "results/figures/{figure}.{ext}"
SUMMARY = "results/summary.md"
REPORT_TABLE = "results/report/tables/{table}.html"
REPORT_LANDING = "results/report/landing.html"
GENIE = "results/genie/{name}"
STABILITY_HEADLINES = "results/stability/replicate_{replicate}/headlines.csv"
STABILITY_TABLE = "results/stability/replicate_{replicate}/tables/{table}.csv"
LIKELIHOOD_MODEL = "results/likelihood_modes/model/{mode}/npe_{member}.{ext}"
LIKELIHOOD_LOSS = "results/likelihood_modes/model/{mode}/loss_{member}.csv"
PART_MODEL = "results/parts/{part}/{mode}/model/npe_0.{ext}"
PART_LOSS = "results/parts/{part}/{mode}/model/loss_0.csv"
PART_POSTERIOR = "results/parts/{part}/{mode}/posterior.npz"
LOG = "logs/{rule}/{name}.log"

#: (pattern, content) of every artefact, in workflow order.
GRAMMAR: tuple[tuple[str, str], ...] = (
    (PARAMS, "theta (n, 4) physical, split in {train, test}"),
    (SHARD, "one shard per job: theta (m, 4), x (m, bins), attrs (seed, n_dropped, ...)"),
    (BANK, "merged bank: theta, x; attrs backend, versions, hashes, seeds"),
    (MODEL, "safetensors weights | json metadata (prior box, bins, x scale, hashes)"),
    (LOSS, "epoch, train_loss, val_loss, seconds, learning_rate"),
    (TEST_POSTERIORS, "samples (n_test, S, 4), theta_true (n_test, 4), pulls, ranks"),
    (METRICS, "coverage, TARP and SBC numbers (the calibration gate reads this)"),
    (GATE, "the calibration gate's verdict"),
    (REFERENCE_MODEL, "noise-aware network for the reference comparison (npe.noise none)"),
    (REFERENCE_LOSS, "its loss curve"),
    (REFERENCE_TEST_POSTERIORS, "its test-set diagnostics (as results/diagnostics/)"),
    (REFERENCE_METRICS, "its test-set metrics"),
    (REFERENCE_SAMPLES, "exact (emcee) reference posteriors per observation"),
    (OBSERVATION, "bin58 (or bin67), x: the observed histogram"),
    (POSTERIOR, "samples (S, 4) physical, x"),
    (THROWS, "x_throws (n, bins), samples (n, 4); data and measurement observations only"),
    (MISSPECIFICATION, "one row: the misspecification tests of one observation (nutune.misspecification)"),
    (MARGINAL_FLOW, "the log-probability test's marginal flow p(x), trained once for every observation"),
    (TABLE, "test_metrics, microboone_tune, nuwro, t2k, t2k_correlations, chi2, measurements, ..."),
    (FIGURE, "pdf | png; one entry per figure in nutune.figure_registry"),
    (SUMMARY, "every table of the run with seed and versions"),
    (REPORT_TABLE, "one table (results/tables/{table}.csv or a loss curve) as an HTML table, for make report"),
    (REPORT_LANDING, "the report's landing summary: calibration gate verdict and margins, T2K headline numbers"),
    (GENIE, "backend genie: prepared events, smoke check, work dirs"),
    (STABILITY_HEADLINES, "replicate k >= 1 of the default run with other network seeds: its headline numbers "
                          "(written last); beside it model/, diagnostics/, posteriors/, throws/ as in the default run"),
    (STABILITY_TABLE, "that replicate's t2k, chi2 and test_metrics tables, and likelihood_modes: the one row of its "
                      "retrained headline network (noise-aware NORMSHAPE, nutune.stability)"),
    (LIKELIHOOD_MODEL, "noise-aware network of chi2 mode {mode} in DIAG, SHAPE, NORMSHAPE (nutune.likelihood_modes; "
                       "member 0 .. likelihood_modes.n_ensemble-1; FULL is the reference network)"),
    (LIKELIHOOD_LOSS, "its loss curve"),
    (PART_MODEL, "joint measurement: the network of one part {part} (a measurement name) trained on its columns "
                 "of the joint bank, in likelihood {mode} (FULL: the npe settings as configured; the tune's "
                 "constraints.mode: that chi2 mode's noise model; nutune.joint_tune.tension_modes)"),
    (PART_LOSS, "its loss curve"),
    (PART_POSTERIOR, "samples (S, d) physical, x: that part's network of likelihood {mode} for that part's data"),
    (LOG, "one log per job; a failing job names its log"),
)


#: Names directly under results/ that belong to the paper run (artefact directories and files, benchmarks): a
#: ``results_dir`` may not start with one of them.
RESERVED_NAMES = frozenset({
    "bank", "model", "diagnostics", "reference", "observations", "posteriors", "throws", "tables", "figures",
    "genie", "stability", "misspecification", "likelihood_modes", "benchmarks", "tmp", "summary.md", "report.html",
    "report", "logs", "parts",
})
_RESULTS_DIR = re.compile(r"results(/[A-Za-z0-9][A-Za-z0-9_.-]*)*\Z")


def results_dir_errors(results_dir: object) -> list[str]:
    """Why ``results_dir`` cannot be a config's results prefix (empty if it can).

    Allowed: ``results`` (the paper config) or ``results/<name>[/<name>...]`` with names of letters, digits, ``_``,
    ``-`` and ``.``, the first of which is not one of the paper run's own entries (:data:`RESERVED_NAMES`).
    """
    where = f"results_dir = {results_dir!r}"
    if not isinstance(results_dir, str) or not _RESULTS_DIR.match(results_dir):
        return [f"{where}: must be 'results' (the paper config) or 'results/<name>' (letters, digits, '_', '-', "
                "'.'), e.g. results/my_run"]
    parts = results_dir.split("/")
    if len(parts) > 1 and parts[1] in RESERVED_NAMES:
        return [f"{where}: results/{parts[1]} holds the paper run's own outputs; choose another name, e.g. "
                "results/my_run"]
    return []


def log_dir(results_dir: str = RESULTS) -> str:
    """The log directory of a results prefix: ``logs`` for ``results``, ``logs/<name>`` for ``results/<name>``."""
    return LOGS + results_dir[len(RESULTS):]


def prefixed(pattern: str, results_dir: str = RESULTS) -> str:
    """A grammar path (or pattern) moved under a config's ``results_dir``.

    >>> prefixed("results/tables/{table}.csv", "results/tiny")
    'results/tiny/tables/{table}.csv'
    >>> prefixed("logs/infer/{obs}.log", "results/tiny")
    'logs/tiny/infer/{obs}.log'
    >>> prefixed("results/tables/t2k.csv")
    'results/tables/t2k.csv'
    """
    for root, new in ((RESULTS, results_dir), (LOGS, log_dir(results_dir))):
        if pattern.startswith(root + "/"):
            return new + pattern[len(root):]
    raise ValueError(f"{pattern!r} is not under {RESULTS}/ or {LOGS}/ (nutune.paths grammar)")


def _regex(pattern: str) -> re.Pattern:
    parts = re.split(r"(\{[^}]+\})", pattern)
    body = "".join("[^/]+" if part.startswith("{") else re.escape(part) for part in parts)
    if pattern == GENIE:
        body = body.replace("[^/]+", ".+")
    return re.compile(body + r"\Z")


def matches(path: str) -> str | None:
    """The grammar pattern ``path`` (a concrete path or a pattern with wildcards) follows, or None."""
    for pattern, _ in GRAMMAR:
        if _regex(pattern).match(path):
            return pattern
    return None


def grammar_text() -> str:
    """The grammar as an aligned two-column text table (for CONTRIBUTING.md and ``python -m nutune.paths``)."""
    width = max(len(pattern) for pattern, _ in GRAMMAR) + 2
    return "\n".join(f"{pattern:<{width}}{content}" for pattern, content in GRAMMAR)


if __name__ == "__main__":  # pragma: no cover
    print(grammar_text())
