"""Workbook adapters: schemas declared once, file (openpyxl/XML) and live (xlwings) access."""
