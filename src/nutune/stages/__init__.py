"""Glue between the Snakemake rules and the nutune library: one thin module per workflow stage.

Every ``workflow/scripts/<rule>.py`` unpacks ``snakemake.input/params/output/log`` and calls exactly one function
of a stage module (or of the library directly). Each ``run_<rule>`` is thin (≤ ~20 lines): read the inputs, call the
library function that holds the science, write the outputs. They take plain paths and the config (a
:class:`nutune.config.Config` or a mapping), so they are testable without Snakemake. Importing a stage module is
cheap (numpy only; torch and matplotlib are imported when a stage runs).

The modules follow the rule files of ``workflow/rules/``:

=====================  ==============================================================================
``common``             log_to (a job's log file), load_model (checked ensemble), one_torch_thread
``simulate``           sample_parameters, simulate_shard                         (simulate.smk)
``bank``               merge_bank                                                (bank.smk)
``train``              train_npe, training_inputs                                (train.smk)
``diagnose``           diagnose, test_metrics_table                              (diagnose.smk)
``infer``              observe, infer, throws                                    (infer.smk)
``compare``            posterior/t2k/measurement tables, t2k_correlations, chi2_table,
                       simulator_calibration, noise_vs_throws                    (compare.smk)
``validate``           reference_npe, reference_c2st, calibration_gate,
                       learning_curve                                            (validate.smk)
``misspecification``   marginal_flow, misspecification, misspecification_table    (validate.smk)
``stability``          stability_replicate (one replicate of the default run),
                       stability_table                                           (stability.smk)
``classical``          classical_fit                                             (classical.smk)
``likelihood``         likelihood_npe, likelihood_modes                          (likelihood.smk)
``genie``              genie_smoke_check                                         (genie.smk)
``figures``            figure                                                    (figures.smk)
``report``             summary, report_tables, report_landing                    (report.smk)
=====================  ==============================================================================

genie.smk's ``genie_generate_events`` is a shell rule (no stage function).
"""
