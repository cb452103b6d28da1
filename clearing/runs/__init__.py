"""clearing.runs: many runs — the run store (DuckDB catalogue), what-if sweeps and HTML reports.
See README.md here."""
