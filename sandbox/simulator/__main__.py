"""`python -m sandbox.simulator serve ...`: serve a simulated province on loopback, for a human
to poke at, until Ctrl-C.
`python -m sandbox.simulator push --url URL ...`: push its national sync stream to a receiver.
`python -m sandbox.simulator stream-files --out FOLDER ...`: write that stream as JSON Lines files."""

import argparse
import json
import sys
import threading
from datetime import date, datetime, timedelta
from pathlib import Path

from sandbox.simulator.faults import Faults, StreamFaults
from sandbox.simulator.onestop_server import OneStopServer
from sandbox.simulator.portal_server import PortalServer
from sandbox.simulator.province import generate_province
from sandbox.simulator.stream import DEFAULT_BATCH_SIZE, DEFAULT_ROUND_MINUTES, write_stream_files
from sandbox.simulator.stream_sender import StreamPushError, push_stream
from sandbox.simulator.tracking_books import write_tracking_books


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m sandbox.simulator")
    commands = parser.add_subparsers(dest="command", required=True)
    serve = commands.add_parser("serve", help="serve the one-stop API and the portal")
    _province_arguments(serve)
    serve.add_argument("--faults", default="none",
                       help=f"all, none, or some of: {','.join(Faults.names())}")
    serve.add_argument("--books", type=Path, help="also write the tracking books into this folder")
    serve.add_argument("--page-size", type=int, default=50, help="rows per portal page")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--onestop-port", type=int, default=0)
    serve.add_argument("--portal-port", type=int, default=0)
    push = commands.add_parser("push", help="push the national sync stream to a receiver")
    push.add_argument("--url", required=True, help="the receiver, e.g. http://127.0.0.1:8090")
    push.add_argument("--username", required=True)
    push.add_argument("--password", required=True)
    push.add_argument("--backoff", type=float, default=0.5, help="seconds before the first retry")
    files = commands.add_parser("stream-files", help="write the national sync stream as JSON Lines")
    files.add_argument("--out", type=Path, required=True, help="the folder to write the files into")
    for command in (push, files):
        _province_arguments(command)
        command.add_argument("--faults", default="none",
                             help=f"all, none, or some of: {','.join(StreamFaults.names())}")
        command.add_argument("--batch-size", type=int, default=DEFAULT_BATCH_SIZE,
                             help="records per request body at most")
        command.add_argument("--round-minutes", type=int, default=DEFAULT_ROUND_MINUTES,
                             help="how often the sender sends what changed")
    args = parser.parse_args(argv)
    if args.command == "serve":
        _serve(parser, args)
    else:
        _stream(parser, args)


def _province_arguments(command: argparse.ArgumentParser) -> None:
    command.add_argument("--seed", type=int, default=1)
    command.add_argument("--dossiers", type=int, default=2000)
    command.add_argument("--now", type=datetime.fromisoformat,
                         help="the simulated present, e.g. 2025-10-15T10:30 (default: the clock)")
    command.add_argument("--start", type=date.fromisoformat,
                         help="the first day dossiers arrive (default: 90 days before --now)")


def _stream(parser: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    try:
        faults = _faults(StreamFaults, args.faults, args.seed)
    except ValueError as error:
        parser.error(str(error))
    if args.batch_size < 1 or args.round_minutes < 1:
        parser.error("--batch-size and --round-minutes must be at least 1")
    now = args.now or datetime.now().replace(microsecond=0)
    province = generate_province(seed=args.seed, dossiers=args.dossiers,
                                 start=args.start or now.date() - timedelta(days=90), now=now)
    options = {"faults": faults, "batch_size": args.batch_size, "round_minutes": args.round_minutes}
    if args.command == "stream-files":
        paths = write_stream_files(province, args.out, **options)
        print(f"{len(paths)} files of request bodies in {args.out}")
        return
    print(f"Pushing the stream of {args.dossiers} dossiers up to {now:%Y-%m-%d %H:%M:%S} to {args.url}...",
          flush=True)
    try:
        summary = push_stream(province, args.url, args.username, args.password,
                              backoff=args.backoff, **options)
    except StreamPushError as error:
        sys.exit(f"error: {error}")
    print(json.dumps(summary.as_dict(), ensure_ascii=False, indent=2))
    if summary.failed:
        sys.exit(1)


def _serve(parser: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    try:
        faults = _faults(Faults, args.faults, args.seed)
    except ValueError as error:
        parser.error(str(error))
    now = args.now or datetime.now().replace(microsecond=0)
    province = generate_province(seed=args.seed, dossiers=args.dossiers,
                                 start=args.start or now.date() - timedelta(days=90), now=now)
    print(f"Generating {args.dossiers} dossiers up to {now:%Y-%m-%d %H:%M:%S}...", flush=True)
    len(province.dossiers)  # generate now rather than on the first request
    if args.books:
        books = write_tracking_books(province, args.books)
        print(f"Tracking books: {len(books)} files in {args.books}")
    with (OneStopServer(province, faults=faults, host=args.host, port=args.onestop_port) as onestop,
          PortalServer(province, faults=faults, page_size=args.page_size, host=args.host,
                       port=args.portal_port) as portal):
        print(f"One-stop API: POST {onestop.url}  (username canbo, password matkhau)")
        print(f"Portal:       {portal.url}/thu-tuc-hanh-chinh  and  {portal.url}/tra-cuu-ho-so")
        print(f"Faults:       {', '.join(n for n in Faults.names() if getattr(faults, n)) or 'none'}")
        print("Ctrl-C to stop.", flush=True)
        try:
            threading.Event().wait()
        except KeyboardInterrupt:
            pass


def _faults(kind: type[Faults] | type[StreamFaults], spec: str, seed: int) -> Faults | StreamFaults:
    if spec == "all":
        return kind.all(seed=seed)
    if spec == "none":
        return kind.none()
    return kind.named((name.strip() for name in spec.split(",") if name.strip()), seed=seed)


if __name__ == "__main__":
    main()
