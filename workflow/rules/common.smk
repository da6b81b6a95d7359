# Shared definitions of the nutune workflow: config validation, the results/ path grammar, wildcard constraints and
# every input function. Rules read like declarations; all logic that decides *which* files a rule needs is here.
#
# The results/ path grammar is written once, in src/nutune/paths.py (`python -m nutune.paths` prints it); the
# input functions below build their paths from it, and tests/test_paths.py checks every results/ path of the rule
# files against it.

import math
import re
from pathlib import Path
from types import SimpleNamespace

from snakemake.exceptions import WorkflowError

from nutune import paths
from nutune.config import DEFAULT_LIKELIHOOD_ENSEMBLE, ConfigError, Provenance, load_config, observation_table
from nutune.figure_registry import FIGURES as FIGURE_REGISTRY
from nutune.figure_registry import OWN_RULE, slice_figures
from nutune.joint_tune import tension_modes
from nutune.likelihood_modes import CHOSEN as HEADLINE
from nutune.likelihood_modes import mode_members
from nutune.measurements import get as get_measurement
from nutune.measurements import measurement_of, noise_covariance_resources

# Validate the whole config (JSON schema + cross-key checks) before any job is scheduled: a bad config stops the
# workflow here with the offending key, its value and what is allowed. A --configfile replaces config/config.yaml
# (Snakefile), so the config is complete on its own or fails here naming the missing keys.
CONFIG_FILES = [str(path) for path in workflow.overwrite_configfiles] or [paths.PAPER_CONFIG]
try:
    CFG = load_config(config, source=", ".join(CONFIG_FILES))
except ConfigError as error:
    raise WorkflowError(f"invalid nutune configuration: {error}") from None
# The rules see the validated values, numbers as YAML 1.2 reads them (5e-3 and 2e3 are numbers, as in the API).
config.clear()
config.update(CFG.raw)


def sections(*names):
    """The config sections a rule's stage reads, as its `params: config=sections(...)` (the script builds the typed
    sections with nutune.config.stage_config and reads nothing else of the config; a change to any of them re-runs
    the rule, a change elsewhere does not). The optional likelihood_modes and constraints sections come with their
    defaults."""
    optional = {"likelihood_modes": LIKELIHOOD_MODES, "constraints": CONSTRAINTS}
    return {name: optional[name] if name in optional else config[name] for name in names}


# The hash of the whole validated config, recorded in bank attrs, model metadata and summary.md; as
# `params: provenance=PROVENANCE` it is no rerun trigger (nutune.config.Provenance says why).
PROVENANCE = Provenance(CFG.config_hash)

# Each config writes under its own prefix (nutune.paths.prefixed); the bare results/ is the paper config's only.
RESULTS_DIR = CFG.results_dir
_PAPER = Path(paths.PAPER_CONFIG).resolve()
if RESULTS_DIR == paths.RESULTS and not any(Path(path).resolve() == _PAPER for path in CONFIG_FILES):
    raise WorkflowError(
        f"invalid nutune configuration ({', '.join(CONFIG_FILES)}): results_dir = 'results' is reserved for the "
        f"paper config {paths.PAPER_CONFIG}, whose tables and figures are committed; give your config its own "
        "prefix, e.g. results_dir: results/my_run"
    )


def prefixed(pattern):
    """A results/ or logs/ path of the grammar (nutune.paths) under this config's results_dir."""
    return paths.prefixed(pattern, RESULTS_DIR)


# The grammar's patterns under this config's prefix (RP.BANK, RP.TABLE, ...).
RP = SimpleNamespace(**{name: prefixed(getattr(paths, name)) for name in paths.__all__
                        if isinstance(getattr(paths, name), str) and getattr(paths, name).startswith((f"{paths.RESULTS}/", f"{paths.LOGS}/"))})

OBSERVATIONS = dict(config["observations"])
DATA_OBSERVATIONS = [name for name, spec in OBSERVATIONS.items() if spec["kind"] == "data"]
# A user's own histogram + covariance (kind measurement): thrown from its own covariance, table measurements.csv.
MEASUREMENT_OBSERVATIONS = [name for name, spec in OBSERVATIONS.items() if spec["kind"] == "measurement"]
# The T2K data observation whose throws, tables and figures the paper shows (None if the config has none).
T2K_OBS = DATA_OBSERVATIONS[0] if DATA_OBSERVATIONS else None
SPLITS = ("train", "test")
# Posterior tables: table name -> the observations it summarises (builtin mocks and published curves).
POSTERIOR_TABLES = {}
for _name, _spec in OBSERVATIONS.items():
    _table = observation_table(_name, _spec)
    if _table not in ("t2k", "measurements"):
        POSTERIOR_TABLES.setdefault(_table, []).append(_name)


# The parts of a joint measurement (nutune.measurements.joint; empty for one measurement): each gets its own network
# on its columns of the joint bank, its posterior and the joint tables (joint.smk).
JOINT_PARTS = list(measurement_of(CFG).parts)
# The likelihoods the parts' networks are trained in (FULL and the joint tune's constraints.mode).
TENSION_MODES = list(tension_modes(CFG))


wildcard_constraints:
    part="|".join(re.escape(name) for name in JOINT_PARTS) or "(?!)",
    split="train|test",
    shard=r"\d{5}",
    member=r"\d+",
    obs="|".join(re.escape(name) for name in OBSERVATIONS),
    table="|".join(re.escape(name) for name in POSTERIOR_TABLES) or "(?!)",
    data_obs="|".join(re.escape(name) for name in DATA_OBSERVATIONS + MEASUREMENT_OBSERVATIONS) or "(?!)",
    slice=r"\d",


# ---------------------------------------------------------------------------------------------- simulation bank


def split_size(split):
    """Number of parameter points in a split (n_train or n_test)."""
    return int(config["simulation"][f"n_{split}"])


def n_shards(split):
    """Static number of shards of a split: ceil(split size / shard_size)."""
    return math.ceil(split_size(split) / int(config["simulation"]["shard_size"]))


def shard_indices(split):
    """Shard indices of a split as the 5-digit strings used in file names."""
    return [f"{index:05d}" for index in range(n_shards(split))]


def get_shards(wildcards):
    """All shard files of one split, in index order (input of merge_bank)."""
    return expand(RP.SHARD, split=wildcards.split, shard=shard_indices(wildcards.split))


# >>> shard extra inputs (GENIE backend owner: return the prepared event file when backend == genie)
def get_shard_extra_inputs(wildcards):
    """Extra inputs of one simulate_shard job: nothing for the builtin backend; for backend: genie the prepared
    GENIE events (first: nutune.stages.simulate.run_simulate_shard passes extra_inputs[0] to nutune.genie) and the MEC
    smoke-check report (rules in genie.smk)."""
    if config["simulator"]["backend"] == "genie":
        return [prefixed("results/genie/events_prepared.root"), prefixed("results/genie/events_prepared.smoke.json")]
    return []


# <<< shard extra inputs


# -------------------------------------------------------------------------------------------------- networks


def ensemble_members():
    """Ensemble member indices 0 .. n_ensemble-1."""
    return list(range(int(config["npe"]["n_ensemble"])))


def get_train_inputs(wildcards=None):
    """Exactly what a network depends on (nutune.stages.train.training_inputs, recorded in its metadata): the training
    bank; for a noise-aware network (npe.noise: covariance) also the T2K file its covariance comes from. The data
    it is applied to is an input of infer/throws, not of the network: editing it never retrains."""
    inputs = {"bank": RP.BANK.format(split="train")}
    if config["npe"]["noise"] == "covariance":
        inputs["noise_covariance"] = NOISE_COVARIANCE_RESOURCES
    return inputs


def get_model_files(wildcards=None):
    """Weights and metadata of every ensemble member (input of every rule that samples the posterior)."""
    return expand(RP.MODEL, member=ensemble_members(), ext=("safetensors", "json"))


def get_loss_curves(wildcards=None):
    """Loss curves of every ensemble member."""
    return expand(RP.LOSS, member=ensemble_members())


# ------------------------------------------------------------------------------------------ observations, gate

# The configured measurement (nutune.measurements; simulator.measurement, default T2K CC0pi 2016 Analysis I): its
# resource files are the data inputs of every rule that reads it, its slices name the slice figures.
MEASUREMENT = measurement_of(CFG)
MEASUREMENT_RESOURCES = [f"resources/{relative}" for relative in MEASUREMENT.resources]
# The file(s) a noise-aware network's covariance comes from: the measurement's first resource, each part's for a
# joint measurement (nutune.stages.train.training_inputs records the same).
NOISE_COVARIANCE_RESOURCES = [f"resources/{path}" for path in noise_covariance_resources(MEASUREMENT)]
PUBLISHED_RESOURCE = "resources/published_predictions/t2k_cc0pi_anaI_genie_tune_and_nuwro_58bin.csv"


def get_observation_resources(wildcards):
    """Data files an observation is built from (none for builtin mocks: the simulator is part of the package)."""
    kind = OBSERVATIONS[wildcards.obs]["kind"]
    if kind == "data":
        return MEASUREMENT_RESOURCES
    if kind == "published":
        return [PUBLISHED_RESOURCE]
    if kind == "measurement":
        return [OBSERVATIONS[wildcards.obs]["file"]]
    return []


def get_observe_inputs(wildcards):
    """Inputs of observe: the observation's data files; a measurement also the test bank its range is checked
    against (wrong units, far outside the simulated range: nutune.resources.check_simulated_range)."""
    inputs = {"data": get_observation_resources(wildcards)}
    if OBSERVATIONS[wildcards.obs]["kind"] == "measurement":
        inputs["bank"] = RP.BANK.format(split="test")
    return inputs


def observation_sections(*names, wildcard="obs"):
    """Input function: the sections `names` and, of `observations`, only the entry of the job's observation (the
    {obs} or {data_obs} wildcard), so editing one observation re-runs only its own jobs."""

    def get(wildcards):
        obs = getattr(wildcards, wildcard)
        return {**sections(*names), "observations": {obs: OBSERVATIONS[obs]}}

    return get


GATE = RP.GATE


# >>> calibration gate (validate.smk owner: nothing to edit if your rule's output is exactly GATE)
def get_gate_input():
    """The calibration gate that must pass before real data are analysed, once a rule (validate.smk) makes it."""
    produces_gate = any(GATE in [str(path) for path in rule.output] for rule in workflow.rules)
    return [GATE] if produces_gate else []


# <<< calibration gate


def get_infer_inputs(wildcards):
    """Networks and the observed histogram; real data also wait for the calibration gate."""
    inputs = {"models": get_model_files(), "observation": RP.OBSERVATION.format(obs=wildcards.obs)}
    if OBSERVATIONS[wildcards.obs]["kind"] in ("data", "measurement"):
        inputs["gate"] = get_gate_input()
    return inputs


def get_throws_inputs(wildcards):
    """Networks, the measurement thrown (T2K files, or a user measurement's CSV) and the calibration gate."""
    return {"models": get_model_files(), "data": get_observation_resources(SimpleNamespace(obs=wildcards.data_obs)),
            "gate": get_gate_input()}


def get_measurement_posteriors(wildcards=None):
    """Observation name -> posterior samples, for every user measurement."""
    return {name: RP.POSTERIOR.format(obs=name) for name in MEASUREMENT_OBSERVATIONS}


def get_measurement_throws(wildcards=None):
    """Observation name -> throws, for every user measurement."""
    return {name: RP.THROWS.format(obs=name) for name in MEASUREMENT_OBSERVATIONS}


def get_measurement_sections(wildcards=None):
    """The sections measurement_table reads; of `observations` only the user measurements."""
    return {**sections("chi2", "parameters", "simulator"),
            "observations": {name: OBSERVATIONS[name] for name in MEASUREMENT_OBSERVATIONS}}


def get_measurement_inputs(wildcards=None):
    """Inputs of measurement_table: posteriors, throws, misspecification rows, the CSVs and the gate."""
    return {"posteriors": list(get_measurement_posteriors().values()),
            "throws": list(get_measurement_throws().values()),
            "misspecification": expand(RP.MISSPECIFICATION, obs=MEASUREMENT_OBSERVATIONS),
            "files": [OBSERVATIONS[name]["file"] for name in MEASUREMENT_OBSERVATIONS],
            "gate": get_gate_input()}


# ---------------------------------------------------------------------------------------------------- tables


def get_posterior_table_inputs(wildcards):
    """Posterior samples of the observations summarised in one table."""
    return expand(RP.POSTERIOR, obs=POSTERIOR_TABLES[wildcards.table])


def get_table_observations(wildcards):
    """Names of the observations summarised in one posterior table, in config order."""
    return POSTERIOR_TABLES[wildcards.table]


def get_posterior_table_sections(wildcards):
    """The sections a posterior table reads; of `observations` only the entries it summarises."""
    return {**sections("chi2", "parameters", "simulator"),
            "observations": {name: OBSERVATIONS[name] for name in POSTERIOR_TABLES[wildcards.table]}}


def get_posterior_table_misspecification(wildcards):
    """The misspecification rows of the observations summarised in one posterior table."""
    return expand(RP.MISSPECIFICATION, obs=POSTERIOR_TABLES[wildcards.table])


def get_t2k_misspecification(wildcards=None):
    """The misspecification row of the T2K data observation."""
    return RP.MISSPECIFICATION.format(obs=T2K_OBS)


def get_t2k_posterior(wildcards=None):
    """Posterior samples of the T2K data observation."""
    return RP.POSTERIOR.format(obs=T2K_OBS)


def get_t2k_throws(wildcards=None):
    """Throws of the T2K data observation."""
    return RP.THROWS.format(obs=T2K_OBS)


def get_t2k_observation(wildcards=None):
    """The observed T2K data histogram (as written by rule observe)."""
    return RP.OBSERVATION.format(obs=T2K_OBS)


def get_chi2_inputs(wildcards):
    """Posteriors of every observation (their medians define the 'inferred X' predictions) and the T2K data."""
    return {"posteriors": expand(RP.POSTERIOR, obs=OBSERVATIONS), "data": MEASUREMENT_RESOURCES}


def posterior_paths():
    """Observation name -> posterior file, the mapping the figure and table scripts take as a param."""
    return {name: RP.POSTERIOR.format(obs=name) for name in OBSERVATIONS}


# >>> extension input functions (genie, validate, classical owners: define your get_* functions here, not in
# your .smk, so that `snakemake --lint` stays clean: it refuses rule files that mix rules and functions)
# validate.smk: reference posteriors compare against a noise-aware NPE; when the main one is noise-free
# (npe.noise: none) rule reference_npe trains one under results/reference/model/.
REFERENCE_MODEL_DIR = str(Path(RP.REFERENCE_MODEL).parent)


def get_reference_models(wildcards=None):
    """The noise-aware network(s) the reference posteriors are compared with."""
    if config["npe"]["noise"] == "covariance":
        return get_model_files()
    return expand(RP.REFERENCE_MODEL, ext=("safetensors", "json"))


def get_reference_observations(wildcards=None):
    """Observation name -> observed histogram CSV, for every configured observation."""
    return {name: RP.OBSERVATION.format(obs=name) for name in OBSERVATIONS}



# classical.smk
def get_classical_inputs(wildcards=None):
    """The T2K measurement and, when the config has a data observation, the SBI T2K table to compare with."""
    inputs = {"data": MEASUREMENT_RESOURCES}
    if T2K_OBS is not None:
        inputs["sbi_t2k"] = RP.TABLE.format(table="t2k")
    return inputs


# likelihood.smk
LIKELIHOOD_MODES = {"activate": False, "max_num_epochs": None, **config.get("likelihood_modes", {})}


def get_likelihood_models(mode):
    """Weights and metadata of the noise-aware network of chi2 mode `mode` (FULL: the reference network; the others:
    members nutune.likelihood_modes.mode_members of rule likelihood_npe, likelihood_modes.n_ensemble of them)."""
    if mode == "FULL":
        return get_reference_models()
    members = mode_members(int(LIKELIHOOD_MODES.get("n_ensemble", DEFAULT_LIKELIHOOD_ENSEMBLE)))
    return expand(RP.LIKELIHOOD_MODEL, mode=mode, member=members, ext=("safetensors", "json"))


def get_likelihood_modes_inputs(wildcards=None):
    """The classical fits, the noise-free main network and one noise-aware network per chi2 mode (FULL: the
    reference network, the others from rule likelihood_npe)."""
    inputs = {"classical": RP.TABLE.format(table="classical_fit"), "models": get_model_files(),
              "test_bank": RP.BANK.format(split="test"), "data": MEASUREMENT_RESOURCES}
    for mode in config["chi2"]["modes"]:
        inputs[f"model_{mode}"] = get_likelihood_models(mode)
    return inputs


# compare.smk: constraints
CONSTRAINTS = {"activate": False, "mode": "FULL", "baseline": None, **config.get("constraints", {})}


def get_constraints_inputs(wildcards=None):
    """The noise-aware network of likelihood constraints.mode (FULL: the reference network), the observed data
    and, with a baseline, its likelihood_modes.csv."""
    models = get_likelihood_models(CONSTRAINTS["mode"])
    inputs = {"models": models, "observation": get_t2k_observation()}
    if CONSTRAINTS["baseline"]:
        inputs["baseline"] = CONSTRAINTS["baseline"]
    return inputs


def get_constraints_outputs():
    """The tables of rule constraints (dial_set_shift only with a baseline)."""
    tables = ["constraints"] + (["dial_set_shift"] if CONSTRAINTS["baseline"] else [])
    return expand(RP.TABLE, table=tables)


# stability.smk
def get_stability_observation_map(wildcards=None):
    """Observation name -> observed-histogram CSV, every observation a replicate infers on (as the default run)."""
    return {name: RP.OBSERVATION.format(obs=name) for name in OBSERVATIONS}


def get_stability_observations(wildcards=None):
    """The observed histograms a replicate reads."""
    return list(get_stability_observation_map().values())


#: Whether the stability target covers nutune's headline T2K answer, the noise-aware NORMSHAPE row of
#: likelihood_modes.csv (nutune.stability): only where that table can be built (a data observation, the builtin
#: backend for its classical fits, NORMSHAPE among chi2.modes).
STABILITY_HEADLINE = (T2K_OBS is not None and config["simulator"]["backend"] == "builtin"
                      and HEADLINE[1] in config["chi2"]["modes"])
#: Config sections a stability replicate reads (training, diagnostics, gate, inference, throws, chi2 tables; the
#: likelihood_modes settings of the headline network).
STABILITY_SECTIONS = ("seed", "parameters", "simulator", "npe", "diagnostics", "gates", "inference", "chi2",
                      "observations") + (("likelihood_modes",) if STABILITY_HEADLINE else ())


def get_stability_headline_outputs():
    """A replicate's one-row likelihood_modes.csv of its retrained headline network (none without the headline)."""
    if not STABILITY_HEADLINE:
        return {}
    return {"likelihood_modes": RP.STABILITY_TABLE.format(replicate="{replicate}", table="likelihood_modes")}


def get_stability_headline_inputs():
    """The default run's likelihood_modes.csv, replicate 0 of the headline network (none without the headline)."""
    return {"likelihood_modes": RP.TABLE.format(table="likelihood_modes")} if STABILITY_HEADLINE else {}


def get_stability_replicates(wildcards=None):
    """Headline files of replicates 1 .. n_replicates - 1 (replicate 0 is the default run's tables)."""
    return expand(RP.STABILITY_HEADLINES, replicate=range(1, int(config["stability"]["n_replicates"])))


# joint.smk
def get_part_npe_inputs(wildcards):
    """What a part's network depends on: the joint training bank and, when noise-aware, the part's covariance file."""
    inputs = {"bank": RP.BANK.format(split="train")}
    if config["npe"]["noise"] == "covariance":
        inputs["noise_covariance"] = [f"resources/{noise_covariance_resources(get_measurement(wildcards.part))[0]}"]
    return inputs


def get_part_infer_inputs(wildcards):
    """The part's network, the measurement's data files and the calibration gate."""
    return {"models": expand(RP.PART_MODEL, part=wildcards.part, mode=wildcards.mode, ext=("safetensors", "json")),
            "data": MEASUREMENT_RESOURCES, "gate": get_gate_input()}


def get_joint_tables_inputs(wildcards=None):
    """The joint network's posterior for the (first) data observation and each part's posterior."""
    return {"joint": get_t2k_posterior(),
            "parts": [RP.PART_POSTERIOR.format(part=part, mode=mode) for mode in TENSION_MODES for part in JOINT_PARTS],
            "data": MEASUREMENT_RESOURCES}


def joint_outputs():
    """The joint tables and the corner of the three posteriors (a joint measurement with a data observation)."""
    if not JOINT_PARTS or T2K_OBS is None:
        return []
    return [*expand(RP.TABLE, table=("joint_chi2", "joint_tension")),
            *expand(RP.FIGURE, figure="joint_posteriors", ext=("pdf", "png"))]


# <<< extension input functions


# ---------------------------------------------------------------------------------------------------- figures

# Figures drawn by the one `figure` rule (the others have their own rule); each input kind of a registry entry.
ONE_RULE_FIGURES = "|".join(re.escape(name) for name in FIGURE_REGISTRY if name not in OWN_RULE)
FIGURE_INPUT_KINDS = {
    "test_posteriors": lambda: RP.TEST_POSTERIORS,
    "metrics": lambda: RP.METRICS,
    "losses": get_loss_curves,
    "t2k_throws": get_t2k_throws,
    "t2k_posterior": get_t2k_posterior,
    "t2k_data": lambda: MEASUREMENT_RESOURCES,
    "posteriors": lambda: expand(RP.POSTERIOR, obs=OBSERVATIONS),
    "likelihood_modes": lambda: RP.TABLE.format(table="likelihood_modes"),
}


def get_figure_inputs(wildcards):
    """The named inputs of one registered figure, by the kinds its registry entry lists."""
    entry = FIGURE_REGISTRY[wildcards.figure]
    return {name: FIGURE_INPUT_KINDS[kind]() for name, kind in entry.inputs.items()}


def get_figure_category(wildcards):
    """The report category of one registered figure."""
    return FIGURE_REGISTRY[wildcards.figure].category


def get_figure_caption(wildcards):
    """The report caption of one registered figure (rendered by workflow/report/figure.rst)."""
    return FIGURE_REGISTRY[wildcards.figure].caption


def get_figure_sections(wildcards):
    """The config sections one registered figure reads: `parameters` (axis labels, dial names) and its entry's
    `reads` (params: a change re-draws it)."""
    return sections("parameters", *FIGURE_REGISTRY[wildcards.figure].reads)


# -------------------------------------------------------------------------------------------------- outputs


def table_outputs():
    """Every table of the paper."""
    tables = ["test_metrics", *POSTERIOR_TABLES, "misspecification"]
    if T2K_OBS is not None:
        tables += ["t2k", "t2k_correlations", "chi2"]
    if MEASUREMENT_OBSERVATIONS:
        tables.append("measurements")
    return expand(RP.TABLE, table=tables)


SLICE_FIGURES = slice_figures(MEASUREMENT, CFG.simulator.bins)
SLICE_INDICES = [int(name.rsplit("_", 1)[1]) for name in SLICE_FIGURES]


def figure_outputs():
    """Every figure, PDF and PNG."""
    names = [name for name, entry in FIGURE_REGISTRY.items()
             if (T2K_OBS is not None or not entry.needs_data)
             and (entry.observation is None or entry.observation in OBSERVATIONS)
             and (entry.section is None or config.get(entry.section, {}).get("activate", False))]
    if T2K_OBS is not None:
        names += SLICE_FIGURES
    return expand(RP.FIGURE, figure=names, ext=("pdf", "png"))


def extension_tables():
    """The tables of the activated extensions (reference posteriors, classical fits, learning curve)."""
    tables = []
    if config["reference"]["activate"]:
        if T2K_OBS is not None and config["simulator"]["backend"] == "builtin":
            tables.append("noise_vs_throws")
        if config["npe"]["noise"] == "none":
            tables.append("test_metrics_noise_aware")
        tables.append("reference_c2st")
    if config["classical"]["activate"]:
        tables.append("classical_fit")
    if config["learning_curve"]["activate"]:
        tables.append("learning_curve")
    if config["stability"]["activate"]:
        tables.append("stability")
    if LIKELIHOOD_MODES["activate"]:
        tables.append("likelihood_modes")
    tables = expand(RP.TABLE, table=tables) + (get_constraints_outputs() if CONSTRAINTS["activate"] else [])
    return tables + [path for path in joint_outputs() if path.endswith(".csv")]


def extension_figures():
    """The figures of the activated extensions, PDF and PNG."""
    sections = {"reference_c2st": "reference", "classical_fit": "classical", "learning_curve": "learning_curve",
                "stability": "stability"}
    names = [name for name, section in sections.items() if config[section]["activate"]]
    names += ["constraints"] if CONSTRAINTS["activate"] else []
    return expand(RP.FIGURE, figure=names, ext=("pdf", "png")) + [p for p in joint_outputs() if not p.endswith(".csv")]


def all_tables():
    """Every table CSV the run writes (paper tables, simulator calibration, extensions)."""
    tables = table_outputs()
    # builtin vs real GENIE+NUISANCE on T2K (the published GENIE curves are T2K's): T2K configs only
    if config["simulator"]["backend"] == "builtin" and MEASUREMENT.name == "t2k_cc0pi_2016_anaI":
        tables.append(RP.TABLE.format(table="simulator_calibration"))
    return tables + extension_tables()


# ---------------------------------------------------------------------------------------------------- report
# Snakemake's report shows HTML/SVG/PNG/PDF inline and only offers other files (CSV) for download, so every table
# has an HTML rendering (rule report_tables) that is the report item; report_landing puts the calibration gate's
# verdict and the T2K numbers on the landing page (workflow/report/workflow.rst includes it).
#: Report category and caption file (workflow/report/) of each table; posterior tables share one caption.
REPORT_TABLE_INFO = {
    "test_metrics": ("Tables", "test_metrics.rst"),
    "t2k": ("Tables", "t2k_table.rst"),
    "t2k_correlations": ("Tables", "t2k_correlations.rst"),
    "chi2": ("Tables", "chi2.rst"),
    "simulator_calibration": ("Tables", "simulator_calibration.rst"),
    "noise_vs_throws": ("Tables", "noise_vs_throws.rst"),
    "misspecification": ("Validation", "misspecification.rst"),
    "test_metrics_noise_aware": ("Validation", "test_metrics_noise_aware.rst"),
    "reference_c2st": ("Validation", "reference_c2st.rst"),
    "learning_curve": ("Validation", "learning_curve.rst"),
    "stability": ("Validation", "stability.rst"),
    "classical_fit": ("Classical fits", "classical_fit.rst"),
    "measurements": ("Tables", "measurements.rst"),
    "likelihood_modes": ("Tables", "likelihood_modes.rst"),
    "constraints": ("Tables", "constraints.rst"),
    "dial_set_shift": ("Tables", "dial_set_shift.rst"),
    "joint_chi2": ("Joint", "joint_chi2.rst"),
    "joint_tension": ("Joint", "joint_tension.rst"),
    **{table: ("Tables", "posterior_table.rst") for table in POSTERIOR_TABLES},
}
REPORT_DIR = Path(workflow.basedir) / "workflow" / "report"


def report_table_csvs():
    """Report table name -> its CSV: every table of the run and each member's loss curve (loss_<member>)."""
    csvs = {Path(path).stem: path for path in all_tables()}
    csvs.update({Path(path).stem: path for path in get_loss_curves()})
    return csvs


REPORT_TABLES = report_table_csvs()


def report_table_info():
    """Report table name -> (category, caption file in workflow/report/), in REPORT_TABLES order."""
    missing = [name for name in REPORT_TABLES if name not in REPORT_TABLE_INFO and not re.fullmatch(r"loss_\d+", name)]
    if missing:
        raise WorkflowError(f"table(s) {missing} have no report category and caption: add them to REPORT_TABLE_INFO "
                            "(workflow/rules/common.smk)")
    return {name: ("Training", "loss_table.rst") if re.fullmatch(r"loss_\d+", name) else REPORT_TABLE_INFO[name]
            for name in REPORT_TABLES}


def get_report_table_captions(wildcards=None):
    """Each table's caption text (its workflow/report/*.rst), shown on its HTML page under the heading."""
    return [(REPORT_DIR / caption).read_text() for _, caption in report_table_info().values()]


def get_report_landing_inputs(wildcards=None):
    """The calibration gate's verdict and, with a T2K data observation, the T2K table."""
    inputs = {"gate": GATE}
    if T2K_OBS is not None:
        inputs["t2k"] = RP.TABLE.format(table="t2k")
    return inputs


def report_outputs():
    """The report's HTML pieces: every table and the landing summary (when the run has a calibration gate)."""
    outputs = expand(RP.REPORT_TABLE, table=REPORT_TABLES)
    if get_gate_input():
        outputs.append(RP.REPORT_LANDING)
    return outputs


def get_final_output():
    """Everything the target `all` builds: tables, figures, the summary, the activated extensions and the report's
    HTML pieces (`make report` turns them into results/report.html)."""
    return [*all_tables(), *figure_outputs(), RP.SUMMARY, *extension_figures(), *report_outputs()]
