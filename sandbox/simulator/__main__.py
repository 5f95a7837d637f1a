"""`python -m sandbox.simulator serve ...`: serve a simulated province on loopback, for a human
to poke at, until Ctrl-C."""

import argparse
import threading
from datetime import date, datetime, timedelta
from pathlib import Path

from sandbox.simulator.faults import Faults
from sandbox.simulator.onestop_server import OneStopServer
from sandbox.simulator.portal_server import PortalServer
from sandbox.simulator.province import generate_province
from sandbox.simulator.tracking_books import write_tracking_books


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m sandbox.simulator")
    commands = parser.add_subparsers(dest="command", required=True)
    serve = commands.add_parser("serve", help="serve the one-stop API and the portal")
    serve.add_argument("--seed", type=int, default=1)
    serve.add_argument("--dossiers", type=int, default=2000)
    serve.add_argument("--now", type=datetime.fromisoformat,
                       help="the simulated present, e.g. 2025-10-15T10:30 (default: the clock)")
    serve.add_argument("--start", type=date.fromisoformat,
                       help="the first day dossiers arrive (default: 90 days before --now)")
    serve.add_argument("--faults", default="none",
                       help=f"all, none, or some of: {','.join(Faults.names())}")
    serve.add_argument("--books", type=Path, help="also write the tracking books into this folder")
    serve.add_argument("--page-size", type=int, default=50, help="rows per portal page")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--onestop-port", type=int, default=0)
    serve.add_argument("--portal-port", type=int, default=0)
    args = parser.parse_args(argv)

    try:
        faults = _faults(args.faults, args.seed)
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


def _faults(spec: str, seed: int) -> Faults:
    if spec == "all":
        return Faults.all(seed=seed)
    if spec == "none":
        return Faults.none()
    return Faults.named((name.strip() for name in spec.split(",") if name.strip()), seed=seed)


if __name__ == "__main__":
    main()
