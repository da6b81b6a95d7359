"""``python -m nutune infer``: the trained posterior for one data vector, from the command line (thin: argument
parsing around :func:`nutune.load_model`, ``sample``/``log_prob`` and :func:`nutune.covariance_throws`).

    python -m nutune infer --model results --t2k                     # the T2K data
    python -m nutune infer --model results/tiny --data my.csv --throws 200 --out summary.csv

``--data`` is a CSV with a header and a column ``x`` (one row per bin in T2K order, 58 bins in
10⁻³⁸ cm²/(GeV/c)/nucleon; ``results/observations/{obs}.csv`` has this layout), or a measurement CSV with
columns bin, x, cov_0 .. (docs/measurement.md), whose covariance the throws then use (the T2K total otherwise). The summary (one row per
parameter, :func:`nutune.posterior_summary`; with ``--throws`` also the throws' ``throws_central``,
``throws_minus``, ``throws_plus``) is printed as CSV, or written to ``--out``.
"""

from __future__ import annotations

import argparse
import sys

import numpy as np


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m nutune", description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    infer = sub.add_parser("infer", help="posterior summary (and covariance throws) for one data vector")
    infer.add_argument("--model", default="results", help="results directory or one member's prefix (results)")
    source = infer.add_mutually_exclusive_group(required=True)
    source.add_argument("--data", help="CSV with a column x: the data vector (bins in T2K order)")
    source.add_argument("--t2k", action="store_true", help="the T2K CC0pi measurement itself")
    infer.add_argument("--samples", type=int, default=10_000, help="posterior draws (10000)")
    infer.add_argument("--throws", type=int, default=0, help="covariance throws of the data (0: none)")
    infer.add_argument("--seed", type=int, default=1, help="seed of the draws and throws (1)")
    infer.add_argument("--out", help="write the summary CSV here instead of printing it")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    import nutune
    from nutune.resources import validate_histogram

    posterior = nutune.load_model(args.model)
    t2k = nutune.load_t2k()
    x, cov = t2k.values, t2k.cov()
    if not args.t2k:
        with open(args.data) as handle:
            header = next((line for line in handle if not line.startswith("#")), "")
        if "cov_0" in header.split(","):  # the measurement layout (docs/measurement.md): throws use its covariance
            from nutune.resources import load_measurement

            own = load_measurement(args.data, t2k.bins)
            x, cov = own.values, own.cov
        else:
            table = np.genfromtxt(args.data, delimiter=",", names=True)
            if table.dtype.names is None or "x" not in table.dtype.names:
                raise SystemExit(f"{args.data}: needs a header line with a column named x (one row per bin)")
            x = validate_histogram(np.atleast_1d(table["x"]), t2k.bins, args.data)
    samples = posterior.sample(args.samples, x, seed=args.seed)
    # max_like needs relative densities only: no leakage normalisation (slow when x lies far from the simulations)
    summary = nutune.posterior_summary(samples, posterior.log_prob(samples, x, normalize=False),
                                       parameter_names=posterior.dial_names)
    if args.throws:
        throws = nutune.covariance_throws(posterior, x, cov, n_throws=args.throws, seed=args.seed)
        summary["throws_central"], summary["throws_minus"], summary["throws_plus"] = (
            throws.central, throws.minus, throws.plus)
    summary.to_csv(args.out or sys.stdout, index=False)
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
