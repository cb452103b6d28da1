"""Importers that turn public test systems into scenarios of this engine's format.

`rts_gmlc` maps the NREL RTS-GMLC three-area system onto three EDAM BAAs (see
docs/rts-gmlc-import.md). Imported lazily so ``python -m scenarios.importers.rts_gmlc`` runs clean.
"""

__all__ = ["import_rts_gmlc", "cli_import"]


def __getattr__(name: str):
    if name in __all__:
        from scenarios.importers import rts_gmlc
        return getattr(rts_gmlc, name)
    raise AttributeError(name)
