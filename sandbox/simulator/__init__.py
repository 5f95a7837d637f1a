"""A simulated province: its one-stop API, its portal and its counters' tracking books, served
on loopback from a seeded generator, with switchable faults; and the national sync stream its
one-stop system pushes (stream.py, stream_sender.py), with a sloppy sender's faults. The
connector tests, the end-to-end tests, `motcua demo` and the benchmarks run against it."""

from sandbox.simulator.faults import Faults, StreamFaults
from sandbox.simulator.onestop_server import OneStopServer, onestop_record
from sandbox.simulator.portal_server import PortalServer
from sandbox.simulator.province import Province, generate_province
from sandbox.simulator.stream import final_records, final_steps, stream_bodies, write_stream_files
from sandbox.simulator.stream_sender import PushSummary, StreamPushError, StreamSender, push_stream
from sandbox.simulator.tracking_books import BookRow, append_rows, write_tracking_books

__all__ = [
    "BookRow",
    "Faults",
    "OneStopServer",
    "PortalServer",
    "Province",
    "PushSummary",
    "StreamFaults",
    "StreamPushError",
    "StreamSender",
    "append_rows",
    "final_records",
    "final_steps",
    "generate_province",
    "onestop_record",
    "push_stream",
    "stream_bodies",
    "write_stream_files",
    "write_tracking_books",
]
