"""The Excel front end: ribbon handlers, the live-workbook adapter, the add-in builder."""
