"""Stage 2 rules: qualified carriers, carrier choice, waybill formats and our own numbers, working days.

Pure and light: data files are read lazily, once, on first use, and the
holiday calendar is imported only when a date is computed. Import the
submodules directly (``from xl_addin.domain.waybills.selection import select_carrier``).
"""
