"""clearing: the market runs (`market/`), the analysis of a finished run (`analysis/`), and the
run store's tooling (`runs/`), with the shared entry points on top: `api` (Python API), `cli`
(the `edam` command), `results` (the results contract), `outputs` (safe output paths) and
`progress` (progress lines). clearing/README.md says what each may import.

Section references in this package ("spec §5.7", "§6.3") are to docs/market-model.md, the
project's statement of the market model as implemented."""
