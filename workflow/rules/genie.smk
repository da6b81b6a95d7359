# Stage 1 (backend: genie only): generate the single GENIE event sample every theta point reweights, and check once
# that the GENIE Reweight MEC calculator is live. The shard jobs (simulate.smk) then run nuiscomp per theta point
# through nutune.genie.simulate_points; get_shard_extra_inputs (common.smk) hands them both files below.
#
# genie_generate_events is a shell rule on purpose: with --software-deployment-method apptainer it runs inside
# simulator.genie.container, which then needs GENIE + NUISANCE but no Python. Command lines come from
# nutune.genie.cards (the same builders the library uses). See docs/cluster.md.

import shlex

from nutune.genie.cards import gevgen_command, gevgen_output, prepare_genie_command
from nutune.genie.runner import smoke_report_path

GENIE_EVENTS = prefixed("results/genie/events_prepared.root")
GENIE_SMOKE = str(smoke_report_path(GENIE_EVENTS))
_GENIE_WORK = prefixed("results/genie/work")
_GENIE_PREFIX = f"{_GENIE_WORK}/gntp"


rule genie_generate_events:
    """gevgen (tune, splines, CH target, the measurement's flux over its energy range: T2K ND280 0-30 GeV, MINERvA
    LE 0-100 GeV) then PrepareGENIE -> events_prepared.root."""
    input:
        flux=config["simulator"]["genie"]["flux_file"],
    output:
        # temp(): deleted once every shard is done, unless simulator.genie.keep_events
        events=GENIE_EVENTS if config["simulator"]["genie"]["keep_events"] else temp(GENIE_EVENTS),
    params:
        workdir=_GENIE_WORK,
        ghep=str(gevgen_output(_GENIE_PREFIX, 0)),
        gevgen=shlex.join(gevgen_command(CFG.simulator.genie, prefix=_GENIE_PREFIX, run=0,
                                         energy_range=MEASUREMENT.flux.energy_range)),
        prepare=shlex.join(
            prepare_genie_command(CFG.simulator.genie, ghep=gevgen_output(_GENIE_PREFIX, 0), output=GENIE_EVENTS)
        ),
    log:
        gevgen=prefixed("logs/genie_generate_events/gevgen.log"),
        prepare=prefixed("logs/genie_generate_events/PrepareGENIE.log"),
    threads: 1
    container:
        config["simulator"]["genie"]["container"]
    shell:
        "mkdir -p {params.workdir} && "
        "{params.gevgen} > {log.gevgen} 2>&1 && "
        "test -s {params.ghep} && "
        "{params.prepare} > {log.prepare} 2>&1 && "
        "rm -f {params.ghep}"


rule genie_smoke_check:
    """Once per events file: NormCCMEC = 2 must change the NUISANCE histogram (else the MEC calculator is missing)."""
    input:
        events=GENIE_EVENTS,
    output:
        report=GENIE_SMOKE,
    params:
        workdir=prefixed("results/genie/smoke"),
        config=sections("simulator"),
    log:
        prefixed("logs/genie_smoke_check/smoke.log"),
    threads: 1
    conda:
        "../../envs/nutune.yaml"
    script:
        "../scripts/genie_smoke_check.py"
