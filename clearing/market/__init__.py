"""clearing.market: the market runs — data preparation, the IFM and RUC model, the HiGHS hand-off,
pricing, MPM, RSE and the real-time follow-up (spec §5–§7, §10). See README.md here."""
