"""products: one module per market product, and the settlement machinery

Section references in this package ("spec §5.7", "§6.3") are to docs/market-model.md, the
project's statement of the market model as implemented."""
