"""A simulated province: its one-stop API, its portal and its counters' tracking books, served
on loopback from a seeded generator, with switchable faults. The connector tests, the
end-to-end tests, `motcua demo` and the benchmarks run against it."""

from monitor.simulator.faults import Faults
from monitor.simulator.onestop_server import OneStopServer, onestop_record
from monitor.simulator.portal_server import PortalServer
from monitor.simulator.province import Province, generate_province
from monitor.simulator.tracking_books import BookRow, append_rows, write_tracking_books

__all__ = [
    "BookRow",
    "Faults",
    "OneStopServer",
    "PortalServer",
    "Province",
    "append_rows",
    "generate_province",
    "onestop_record",
    "write_tracking_books",
]
