"""network: PTDF, topology, DC flow rows, EDAM transfers and the net export constraint, import/export
tie limits

Section references in this package ("spec §5.7", "§6.3") are to docs/market-model.md, the
project's statement of the market model as implemented."""
