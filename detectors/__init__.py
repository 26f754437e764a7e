"""Stream detectors: vectorised, stateful rules over ReadingBatches, and the ISA-18.2 alarm lifecycle.

Detectors do no I/O and know only the data model (hazwatch.*), never the config files.
"""
