"""clearing: resource physics, assembly, solve, pricing, results, RSE, settlement, CLI

Section references in this package ("spec §5.7", "§6.3") are to docs/market-model.md, the
project's statement of the market model as implemented."""
