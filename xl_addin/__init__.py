"""xl-logistics: a logistics desk's order-processing procedure inside Excel workbooks.

Importing this package must stay cheap: Excel imports it on every button press
and worksheet-function call, so nothing heavy happens at import time.
"""

__version__ = "0.1.0"
