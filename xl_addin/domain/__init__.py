"""The domain: pure rules of the procedure.

Only the standard library and pure-computation packages (phone metadata,
multi-pattern matching, Chinese text conversion, the holiday calendar) may be
imported here; no workbook, HTTP, database or mail module. Every
time-dependent rule takes ``now`` as an argument.
"""
