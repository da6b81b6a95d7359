"""TEST DOUBLE — not GENIE/NUISANCE. Stand-ins for gevgen, PrepareGENIE and nuiscomp used by nutune's tests.

They parse the same flags as the real tools (GENIE ``src/Apps/gEvGen.cxx``, NUISANCE ``app/PrepareGENIE.cxx``
and ``app/nuiscomp.cxx``), check their inputs, and write ROOT files with uproot in the layouts nutune reads:

* ``gevgen``: ``<prefix>.<run>.ghep.root`` with a TTree ``gtree`` (one row per event: ``iev``, ``Enu`` drawn
  from the flux histogram with ``--seed``) — no physics, just the file contract.
* ``PrepareGENIE``: copies ``gtree`` and adds ``nuisance_flux`` / ``nuisance_events`` histograms.
* ``nuiscomp``: parses the NUISANCE card, converts the genie_parameter dial values back to physical values with
  ``nutune.dials.dials_to_physical`` and writes the **built-in simulator's** histogram (``nutune.simulate``) as
  ``<sample>_MC`` in cm² — so a bank built through the GENIE backend with these doubles must equal the
  builtin backend's bank.

Fault injection for the guard tests, ``NUTUNE_DOUBLE_FAULT`` = ``inert_mec`` (MEC dials ignored, as in a NUISANCE
built without GReWeightXSecMEC), ``old_reweight`` (abort "Dial RPA_CCQE not found.", as with Reweight < R-1_01_00),
``dxsec_mismatch`` (GENIE's tune-mismatch warning), ``bins67`` (ignores mask_mom_overflow), ``nan`` (one NaN bin).
``NUTUNE_DOUBLE_CONFIG=<config.yaml>`` makes nuiscomp use the built-in simulator's templates with that config's
``simulator.builtin`` settings (exactly what the builtin backend uses), instead of ``nutune.simulate``'s defaults.
``NUTUNE_DOUBLE_SIMULATOR=toy`` replaces the simulator by a smooth toy (plumbing tests only).
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import numpy as np
import uproot

BANNER = "TEST DOUBLE — not GENIE/NUISANCE"


def _fault() -> str:
    return os.environ.get("NUTUNE_DOUBLE_FAULT", "")


def _flux(spec: str) -> tuple[np.ndarray, np.ndarray]:
    if "," not in spec:
        sys.exit(f"{BANNER}: flux must be 'file.root,histogram', got {spec!r}")
    fname, hname = spec.split(",", 1)
    with uproot.open(fname) as f:
        if hname not in f:
            sys.exit(f"{BANNER}: no histogram {hname!r} in {fname}")
        h = f[hname]
        return np.asarray(h.values(), float), np.asarray(h.axis().edges(), float)


def _target(spec: str) -> dict[int, float]:
    out = {}
    for part in spec.split(","):
        code, _, frac = part.partition("[")
        out[int(code)] = float(frac.rstrip("]")) if frac else 1.0
    if abs(sum(out.values()) - 1.0) > 1e-6:
        sys.exit(f"{BANNER}: target mass fractions must sum to 1, got {spec!r}")
    return out


def gevgen(argv: list[str]) -> int:
    p = argparse.ArgumentParser(prog="gevgen", description=BANNER)
    p.add_argument("-n", type=int, required=True)
    p.add_argument("-p", type=int, required=True)
    p.add_argument("-t", required=True)
    p.add_argument("-e", required=True)
    p.add_argument("-f", required=True)
    p.add_argument("-r", type=int, default=0)
    p.add_argument("-o", default="gntp")
    p.add_argument("--seed", type=int, required=True)
    p.add_argument("--cross-sections", required=True)
    p.add_argument("--tune", required=True)
    a = p.parse_args(argv)
    print(f"{BANNER}: gevgen {' '.join(argv)}")
    if not Path(a.cross_sections).is_file():
        print(f"*** Cross-section spline file {a.cross_sections} not found", file=sys.stderr)
        return 1
    _target(a.t)
    emin, emax = (float(x) for x in a.e.split(","))
    vals, edges = _flux(a.f)
    centres = 0.5 * (edges[1:] + edges[:-1])
    w = np.where((centres >= emin) & (centres <= emax), vals * np.diff(edges), 0.0)
    rng = np.random.default_rng(a.seed)
    idx = rng.choice(len(w), size=a.n, p=w / w.sum())
    enu = rng.uniform(edges[idx], edges[idx + 1])
    out = f"{a.o}.{a.r}.ghep.root"
    with uproot.recreate(out) as f:
        f["gtree"] = {"iev": np.arange(a.n, dtype=np.int64), "Enu": enu}
        f["nutune_test_double"] = f"{BANNER}; tune={a.tune}; target={a.t}; seed={a.seed}; nu={a.p}"
    print(f"Generated {a.n} events -> {out}")
    return 0


def prepare_genie(argv: list[str]) -> int:
    p = argparse.ArgumentParser(prog="PrepareGENIE", description=BANNER)
    p.add_argument("-i", required=True)
    p.add_argument("-f", required=True)
    p.add_argument("-t", required=True)
    p.add_argument("-o", required=True)
    a = p.parse_args(argv)
    print(f"{BANNER}: PrepareGENIE {' '.join(argv)}")
    target = _target(a.t)
    with uproot.open(a.i) as f:
        if "gtree" not in f:
            sys.exit(f"{BANNER}: {a.i} has no gtree")
        enu = f["gtree"]["Enu"].array(library="np")
    vals, edges = _flux(a.f)
    nucleons = sum(round(frac * 13) for frac in target.values())  # CH: 12 + 1 (NUISANCE's integer counts)
    with uproot.recreate(a.o) as f:
        f["gtree"] = {"iev": np.arange(enu.size, dtype=np.int64), "Enu": enu}
        f["nuisance_flux"] = (vals, edges)
        f["nuisance_events"] = np.histogram(enu, bins=edges)
        f["nutune_test_double"] = f"{BANNER}; nucleons={nucleons}"
    print(f"Prepared {enu.size} events -> {a.o}")
    return 0


def _toy(theta: np.ndarray, bins: int) -> np.ndarray:
    k = np.arange(bins)[None, :]
    ma, n, x, s = (theta[:, i : i + 1] for i in range(4))
    return 0.5 + 0.3 * ma * np.exp(-k / 30) + 0.1 * n * (1 + 0.2 * x * np.sin(k)) + 0.05 * s * np.cos(k / 7)


def nuiscomp(argv: list[str]) -> int:
    from nutune.dials import PARAMETER_NAMES, dials_to_physical
    from nutune.genie.cards import SAMPLE_NAME, parse_card
    from nutune.genie.readers import write_nuisance_output

    p = argparse.ArgumentParser(prog="nuiscomp", description=BANNER)
    p.add_argument("-c", required=True)
    p.add_argument("-o", required=True)
    p.add_argument("-n", type=int, default=-1)
    a = p.parse_args(argv)
    print(f"{BANNER}: nuiscomp {' '.join(argv)}")
    card = parse_card(Path(a.c).read_text(), check=False)
    if "GENIETune" not in card.config:
        print('[ERR FTL]: GENIE tune was not specified, this is required when reweighting GENIE V3+ events. '
              'Add a config parameter like: <config GENIETune="G18_10a_02_11a" /> to your nuisance card.')
        return 1
    if _fault() == "old_reweight":
        print("[ERR FTL]: Dial RPA_CCQE not found.")
        return 1
    values = {}
    for _ptype, name, nominal, state in card.parameters:
        if "ABS" in state.upper():
            # dial_conversion.card has no entry for these dials: NUISANCE's conversion is the identity.
            print(f"[LOG Fitter]: AbsToSigma({name}) = {nominal} -> {nominal}")
        values[name] = nominal
    dials = np.array([values.get(n, 0.0) for n in PARAMETER_NAMES])
    if _fault() == "inert_mec":
        dials[PARAMETER_NAMES.index("NormCCMEC")] = 0.0
        dials[PARAMETER_NAMES.index("XSecShape_CCMEC")] = 0.0
    for n, d in zip(PARAMETER_NAMES, dials, strict=True):
        print(f"[LOG Reconf]: - Systematic: {n}, Value: {float(d)!r}")
    if _fault() == "dxsec_mismatch":
        print("[WARNING] GReWeightNuXSecCCQE: Warning: default dxsec does not match dxsec saved in tree!")
    sample = next((s for s in card.samples if s.get("name") == SAMPLE_NAME), None)
    if sample is None:
        sys.exit(f"{BANNER}: card has no sample {SAMPLE_NAME}")
    gen, _, path = sample["input"].partition(":")
    if gen != "GENIE" or not Path(path).is_file():
        sys.exit(f"{BANNER}: bad input {sample['input']!r}")
    with uproot.open(path) as f:
        if "gtree" not in f or "nuisance_flux" not in f:
            sys.exit(f"{BANNER}: {path} is not a PrepareGENIE'd file")
    bins = 67 if _fault() == "bins67" else card.bins()
    theta = dials_to_physical(dials)[None, :]
    if os.environ.get("NUTUNE_DOUBLE_SIMULATOR") == "toy":
        mc = _toy(theta, bins)[0]
    elif os.environ.get("NUTUNE_DOUBLE_CONFIG"):
        # The built-in simulator with the templates the builtin backend of that config uses (nutune.bank).
        from nutune.config import load_config
        from nutune.simulator import get_templates

        b = load_config(os.environ["NUTUNE_DOUBLE_CONFIG"]).simulator.builtin
        templates = get_templates("nominal", sample_seed=b.sample_seed, n_events=b.n_events, cache_dir=b.cache_dir)
        mc = np.asarray(templates.evaluate(theta, bins=bins))[0]
    else:
        import nutune

        mc = np.asarray(nutune.simulate(theta, bins=bins))[0]
    if _fault() == "nan":
        mc = mc.copy()
        mc[3] = np.nan
    write_nuisance_output(a.o, mc, sample=SAMPLE_NAME, extra={"nutune_test_double": BANNER})
    print(f"[LOG Fitter]: Saved {SAMPLE_NAME}_MC ({bins} bins) to {a.o}")
    return 0


if __name__ == "__main__":
    tool, args = sys.argv[1], sys.argv[2:]
    sys.exit({"gevgen": gevgen, "PrepareGENIE": prepare_genie, "nuiscomp": nuiscomp}[tool](args))
