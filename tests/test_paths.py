"""The results/ path grammar has one home (nutune.paths): every path the rule files name follows it, the docs point
at it, and the figure registry is the one list of figures."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from nutune import paths
from nutune.figure_registry import FIGURES, OWN_RULE, figure_names

REPO = Path(__file__).resolve().parents[1]
RULES = sorted((REPO / "workflow" / "rules").glob("*.smk"))


def _rule_paths() -> list[str]:
    found = []
    for rule_file in RULES:
        for literal in re.findall(r'"((?:results|logs)/[^"\s]*)"', rule_file.read_text()):
            # f-string and expand() placeholders ({T2K_OBS}, {wildcards.obs}, {name}) are wildcards here
            found.append(re.sub(r"\{[^}]*\}", "{w}", literal))
    return found


@pytest.mark.parametrize("path", sorted(set(_rule_paths())))
def test_every_rule_path_follows_the_grammar(path: str) -> None:
    assert paths.matches(path), f"{path} (in workflow/rules/) is not in nutune.paths.GRAMMAR"


def test_every_rule_path_is_under_the_configs_prefix() -> None:
    """Rule files name grammar paths through prefixed(...) (common.smk), so each config writes under results_dir."""
    for rule_file in RULES:
        text = rule_file.read_text()
        for match in re.finditer(r'"((?:results|logs)/[^"\s]*)"', text):
            assert text[:match.start()].endswith("prefixed("), f"{rule_file.name}: {match.group(1)} not prefixed"


def test_prefixes_keep_the_paper_paths_and_move_the_others() -> None:
    assert paths.prefixed(paths.TABLE.format(table="t2k")) == "results/tables/t2k.csv"
    assert paths.prefixed("logs/infer/t2k.log", "results") == "logs/infer/t2k.log"
    assert paths.prefixed("results/tables/t2k.csv", "results/tiny") == "results/tiny/tables/t2k.csv"
    assert paths.prefixed("logs/infer/t2k.log", "results/tiny") == "logs/tiny/infer/t2k.log"
    assert paths.results_dir_errors("results/tiny") == [] and paths.results_dir_errors("results/tables")
    with pytest.raises(ValueError):
        paths.prefixed("resources/t2k/x.npz", "results/tiny")


def test_the_grammar_rejects_other_paths() -> None:
    assert paths.matches("results/throws/t2k.npz") == paths.THROWS
    assert paths.matches("results/throw/t2k.npz") is None
    assert paths.matches("results/model/npe_0.safetensors") == paths.MODEL


def test_the_docs_point_at_the_grammar_instead_of_copying_it() -> None:
    for doc in ("CONTRIBUTING.md", "README.md", "workflow/rules/common.smk"):
        text = (REPO / doc).read_text()
        assert "nutune/paths.py" in text or "nutune.paths" in text, doc
    assert "results/throws/t2k.npz" not in (REPO / "CONTRIBUTING.md").read_text()


def test_every_registered_figure_has_a_drawer_and_known_inputs() -> None:
    kinds = {"test_posteriors", "metrics", "losses", "t2k_throws", "t2k_posterior", "t2k_data", "posteriors",
             "likelihood_modes"}
    for name, entry in FIGURES.items():
        assert callable(entry.draw) and entry.caption and entry.category, name
        assert set(entry.inputs.values()) <= kinds, name
    assert set(OWN_RULE) <= set(FIGURES)
    assert figure_names(False) == [name for name, entry in FIGURES.items() if not entry.needs_data]
    common = (REPO / "workflow" / "rules" / "common.smk").read_text()
    for kind in kinds:
        assert f'"{kind}":' in common, kind
