"""Order exports from e-commerce back offices and ERPs: read them, guess their header mapping.

Public API::

    table = read_export(path)                      # ExportTable (CSV in UTF-8/BOM/GBK/GB18030, or .xlsx)
    guess = guess_mapping(table.header)            # {schema key: source header}
    ledger = ImportLedger(store)                   # saved mappings, what each source said, mismatches
"""

from xl_addin.adapters.store.import_ledger import ImportLedger, SavedSource  # the repository, re-exported

from .export_file import read_export
from .mapping import find_header_row, guess_mapping, parse_map_options, target_column
from .table import ExportTable

__all__ = ["ExportTable", "ImportLedger", "SavedSource", "find_header_row", "guess_mapping",
           "parse_map_options", "read_export", "target_column"]
