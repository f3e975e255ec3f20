"""Stage 2: choose the carrier, allocate or record the waybill number, bind it, sign off the day.

The state store is the record of truth (numbers unique forever, bindings, history, review);
the Binding Table and the Order Confirmation workbooks are brought in line with it after every
change. When a workbook is open in Excel the store keeps everything and the next run writes the
missing rows (rows already in the sheet, by waybill number, are never appended twice).

One use case per module: ``allocation`` (allocate), ``manual_binding`` (bind), ``rebinding``
(rebind, carrier correction), ``review`` (sign-off, changes after it), ``sheet_sync`` (the
workbooks), ``carrier_sheets`` (the carriers and rate sheets), ``suggestions`` (which carrier a
number looks like). The names below are the stage's public face.
"""

from xl_addin.services.waybills.allocation import AllocationReport, allocate
from xl_addin.services.waybills.carrier_sheets import CarrierTableError, load_carriers
from xl_addin.services.waybills.manual_binding import bind_manual
from xl_addin.services.waybills.policy import CHUNK, SOURCES, Books, WaybillPolicy
from xl_addin.services.waybills.rebinding import rebind
from xl_addin.services.waybills.review import ReviewReport, review_day, sheet_changes
from xl_addin.services.waybills.sheet_sync import SyncResult, sync_workbooks
from xl_addin.services.waybills.suggestions import CarrierNeeded, CarrierSuggestions, shell_arg, suggest_carriers_for

__all__ = ["CHUNK", "SOURCES", "AllocationReport", "Books", "CarrierNeeded", "CarrierSuggestions", "CarrierTableError",
           "ReviewReport", "SyncResult", "WaybillPolicy", "allocate", "bind_manual", "load_carriers",
           "rebind", "review_day", "sheet_changes", "shell_arg", "suggest_carriers_for",
           "sync_workbooks"]
