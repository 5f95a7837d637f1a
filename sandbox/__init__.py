"""The sandbox: a simulated province (`sandbox.simulator`), a mail catcher and `motcua demo`.

Beside the monitor, never inside it: the tests, the benchmarks and the demo use it, and the
installed monitor imports none of it (the demo is loaded only when `motcua demo` runs, and its
SMTP server, aiosmtpd, comes with the `demo` extra).
"""
