"""A simulated province: its one-stop API, its portal and its counters' tracking books, served
on loopback from a seeded generator, with switchable faults. The connector tests, the
end-to-end tests, `motcua demo` and the benchmarks run against it."""

from sandbox.simulator.faults import Faults
from sandbox.simulator.onestop_server import OneStopServer, onestop_record
from sandbox.simulator.portal_server import PortalServer
from sandbox.simulator.province import Province, generate_province
from sandbox.simulator.tracking_books import BookRow, append_rows, write_tracking_books

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
