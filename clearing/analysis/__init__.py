"""clearing.analysis: the analysis of a finished run — settlement, the independent checker,
comparison with reference results, OASIS import and the phase-in runs (spec §7.5, §8). See
README.md here."""
