"""The configured parameter space: which dials are free (in the order the user wrote them), their prior box, and the
values of the fixed ones — and the map from a free-parameter vector θ to the simulator's full dial vector.

Every θ in nutune (bank, NPE, posterior samples, tables, classical fits, reference posteriors) holds the *free*
dials in :attr:`ParameterSpace.names` order, in physical units. A simulator applies a fixed set of dials (the
built-in one :data:`nutune.dials.BUILTIN_DIALS`); :meth:`ParameterSpace.full` fills in the fixed dials' configured
values and every other dial at its G18_10a_02_11a nominal. For the paper config (the four builtin dials free, in
the builtin order) :meth:`full` is the identity, value for value, so the bank is the same byte for byte.

Facts about each dial (σ, map, nominal, range, label) come from :data:`nutune.dials.REGISTRY`; only the choice of
free dials, the box and the fixed values are the config's.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from nutune.dials import BUILTIN_DIALS, PARAMETER_NAMES, REGISTRY, DialSpec, check_dial_set, microboone_tune

__all__ = ["ParameterSpace"]


@dataclass(frozen=True)
class ParameterSpace:
    """Free dials with their uniform physical prior box, and fixed dials with their physical values.

    Attributes:
        names: Free dials, in θ order.
        low, high: (d,) physical prior box of the free dials.
        fixed: Physical values of dials held fixed (dials in neither list are at nominal).
        labels, units: Display label and unit per free dial (default: the registry's).
        target: The dials the simulator's vector holds, in its order.
    """

    names: tuple[str, ...]
    low: np.ndarray
    high: np.ndarray
    fixed: Mapping[str, float] = field(default_factory=dict)
    labels: tuple[str, ...] = ()
    units: tuple[str, ...] = ()
    target: tuple[str, ...] = PARAMETER_NAMES

    def __post_init__(self) -> None:
        object.__setattr__(self, "low", np.asarray(self.low, dtype=float))
        object.__setattr__(self, "high", np.asarray(self.high, dtype=float))
        if not self.labels:
            object.__setattr__(self, "labels", tuple(REGISTRY[n].label for n in self.names))
        if not self.units:
            object.__setattr__(self, "units", tuple(REGISTRY[n].unit for n in self.names))

    @classmethod
    def from_entries(cls, entries: Sequence[Mapping], *, backend: str = "builtin") -> ParameterSpace:
        """From the config's ``parameters`` list: ``{dial, min, max[, label, unit]}`` (free) or
        ``{dial, fixed}`` (held at a physical value). Raises :class:`nutune.dials.DialSetError` for a set GENIE
        Reweight (or the built-in simulator, for ``backend="builtin"``) cannot apply."""
        names = [str(e["dial"]) for e in entries]
        fixed = {str(e["dial"]): float(e["fixed"]) for e in entries if "fixed" in e}
        check_dial_set(names, backend=backend)
        free = [e for e in entries if "fixed" not in e]
        # builtin: the four MicroBooNE dials (the simulator's default columns, so the paper config is the
        # identity) and any other builtin dial the config names, in BUILTIN_DIALS order
        target = (PARAMETER_NAMES + tuple(n for n in BUILTIN_DIALS if n in names and n not in PARAMETER_NAMES)
                  if backend == "builtin" else tuple(names))
        return cls(
            names=tuple(str(e["dial"]) for e in free),
            low=np.array([float(e["min"]) for e in free]),
            high=np.array([float(e["max"]) for e in free]),
            fixed=fixed,
            labels=tuple(str(e.get("label", REGISTRY[e["dial"]].label)) for e in free),
            units=tuple(str(e.get("unit", REGISTRY[e["dial"]].unit)) for e in free),
            target=target,
        )

    @property
    def dim(self) -> int:
        """Number of free dials d."""
        return len(self.names)

    @property
    def specs(self) -> tuple[DialSpec, ...]:
        """Registry entries of the free dials, in θ order."""
        return tuple(REGISTRY[n] for n in self.names)

    @property
    def nominal(self) -> np.ndarray:
        """(d,) the G18_10a_02_11a nominal of each free dial."""
        return np.array([s.nominal for s in self.specs])

    @property
    def microboone_tune(self) -> np.ndarray:
        """(d,) the MicroBooNE production tune in the free dials (:func:`nutune.dials.microboone_tune`)."""
        return microboone_tune(self.names)

    @property
    def microboone_tune_errors(self) -> np.ndarray:
        """(d, 2) the tune's quoted (minus, plus) 1σ per free dial (0 for dials the tune does not fit)."""
        return np.array([s.microboone_tune_error for s in self.specs], dtype=float).reshape(self.dim, 2)

    def _base(self) -> np.ndarray:
        return np.array([self.fixed.get(n, REGISTRY[n].nominal) for n in self.target])

    def full(self, theta: np.ndarray) -> np.ndarray:
        """(n, d) or (d,) free θ → (n, len(target)) or (len(target),) simulator vector: the fixed dials at their
        configured values, every other dial at nominal. The identity (a float copy) when the free dials are the
        target in its order."""
        th = np.asarray(theta, dtype=float)
        if th.shape[-1] != self.dim:
            raise ValueError(f"theta has {th.shape[-1]} columns; this parameter space has {self.dim} free dials "
                             f"({', '.join(self.names)})")
        if self.names == self.target:
            return th.copy()
        missing = [n for n in self.names if n not in self.target]
        if missing:
            raise ValueError(f"the simulator does not apply dial(s) {', '.join(missing)}")
        out = np.broadcast_to(self._base(), (*th.shape[:-1], len(self.target))).copy()
        idx = [self.target.index(n) for n in self.names]
        out[..., idx] = th
        return out

    def card_point(self, theta: np.ndarray) -> tuple[tuple[str, ...], np.ndarray]:
        """The dials a GENIE/NUISANCE card sets for free θ ((d,) or (n, d)): the free ones and every fixed one, as
        (names, physical values (n, k)); dials left out stay at nominal (dial 0)."""
        th = np.atleast_2d(np.asarray(theta, dtype=float))
        extra = tuple(n for n in self.fixed if n not in self.names)
        values = np.column_stack([th, *(np.full(len(th), self.fixed[n]) for n in extra)])
        return self.names + extra, values


def builtin_limit_errors(entries: Sequence[Mapping]) -> list[str]:
    """What the built-in simulator cannot apply in a config's ``parameters`` beyond single-dial ranges: pion fate
    scales whose largest corner of the prior box (with the fixed ones) lets the named hA2018 fractions sum past 1 at
    some pion energy, where GENIE Reweight rescales every fraction and the linear templates stop being exact."""
    from nutune.dials import PION_FATES

    errors = []
    fates = [e for e in entries if str(e["dial"]) in PION_FATES]
    if fates:
        from nutune.simulator.pion_fsi import max_named_sum

        corner = np.array([[float(e["fixed"]) if "fixed" in e else float(e["max"]) for e in fates]])
        total = float(max_named_sum([str(e["dial"]) for e in fates], corner)[0])
        if total > 1.0:
            listed = ", ".join(f"{e['dial']} {'fixed' if 'fixed' in e else 'max'} {corner[0, i]:g}"
                               for i, e in enumerate(fates))
            errors.append(f"parameters: with {listed} the named hA2018 pion fate fractions sum to {total:.4g} > 1 at "
                          "some pion energy; GENIE Reweight then rescales every fraction non-linearly "
                          "(GReWeightINukeParams::Fates::ActualTwkDial), which the built-in simulator does not "
                          "reproduce: lower the upper edges so the sum stays <= 1")
    return errors
