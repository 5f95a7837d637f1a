"""Transport security: mail over TLS with a verified certificate, no password over a plain
connection, HTTPS sources whose certificate fails are not retried, and no password in any URL
the monitor shows."""
from __future__ import annotations

import http.server
import threading
from datetime import datetime

import pytest

from connectors.base import SourceError
from connectors.http import HttpClient
from monitor.config import ConfigError, MailSettings, Recipient, load_settings
from monitor.kinds.portal_html import PortalSettings
from sandbox.mailcatcher import MailCatcher
from reports.compose import compose
from reports.delivery import Due, Rendered, send_due, store
from reports.periods import report_period
from tls_support import self_signed

NOW = datetime(2026, 3, 31, 2, 0)
HEAD = Recipient(agency="000.00.16.H59", to=("giamdoc.syt@example.gov.vn",))


@pytest.fixture(scope="module")
def certificate(tmp_path_factory):
    return self_signed(tmp_path_factory.mktemp("tls"))


def queue_one(engine) -> None:
    message = compose(sender="giamsat@example.gov.vn", to=HEAD.to, subject="Báo cáo", sent_at=NOW,
                      html="<p>Báo cáo</p>", text="Báo cáo", workbook=b"", workbook_name="vi-pham.xlsx")
    store(engine, [Rendered(Due(HEAD, report_period("day", NOW.date())), message)], NOW)


# --- mail -----------------------------------------------------------------------------------------

def test_ssl_sends_over_implicit_tls_to_a_server_whose_certificate_is_trusted(engine, certificate, monkeypatch):
    # The default context trusts what SSL_CERT_FILE names: here, the test's own certificate.
    monkeypatch.setenv("SSL_CERT_FILE", str(certificate.cert))
    queue_one(engine)
    with MailCatcher(tls=certificate.server_context(), login=("giamsat", "mat-khau")) as catcher:
        mail = MailSettings(host="127.0.0.1", port=catcher.port, sender="giamsat@example.gov.vn", ssl=True,
                            timeout_seconds=10)
        report = send_due(engine, mail, NOW, credentials=("giamsat", "mat-khau"))

    assert len(report.sent) == 1 and [m.recipients for m in catcher.received] == [HEAD.to]


def test_ssl_refuses_a_server_whose_certificate_cannot_be_verified(engine, certificate):
    queue_one(engine)
    with MailCatcher(tls=certificate.server_context()) as catcher:
        mail = MailSettings(host="127.0.0.1", port=catcher.port, sender="giamsat@example.gov.vn", ssl=True,
                            timeout_seconds=10)
        report = send_due(engine, mail, NOW)

    assert report.sent == [] and catcher.received == []
    [(_, error)] = report.retrying
    assert "CERTIFICATE_VERIFY_FAILED" in error


def write_config(tmp_path, mail: str) -> str:
    path = tmp_path / "config.toml"
    path.write_text(f'[database]\nurl = "sqlite:///motcua.db"\n\n[mail]\n{mail}\n', encoding="utf-8")
    return str(path)


def test_a_login_over_a_plain_connection_is_a_configuration_error_naming_the_file_and_key(tmp_path):
    config = write_config(tmp_path, 'username_env = "SMTP_USER"\npassword_env = "SMTP_PASSWORD"')

    with pytest.raises(ConfigError, match=r"config\.toml: mail\.username_env: a login over a plain connection "
                                          r"would send the password in clear"):
        load_settings(config)


@pytest.mark.parametrize("transport", ["ssl = true", "starttls = true", "allow_plaintext_login = true"])
def test_a_login_is_allowed_over_tls_or_when_the_operator_says_so(tmp_path, transport):
    config = write_config(tmp_path, f'username_env = "SMTP_USER"\n{transport}')

    assert load_settings(config).mail.username_env == "SMTP_USER"


def test_ssl_defaults_to_port_465_and_excludes_starttls(tmp_path):
    assert load_settings(write_config(tmp_path, "ssl = true")).mail.port == 465
    assert load_settings(write_config(tmp_path, "ssl = true\nport = 2465")).mail.port == 2465
    with pytest.raises(ConfigError, match=r"mail\.starttls: and mail\.ssl exclude each other"):
        load_settings(write_config(tmp_path, "ssl = true\nstarttls = true"))


# --- HTTPS sources --------------------------------------------------------------------------------

class _CountingHttpsServer(http.server.ThreadingHTTPServer):
    """An HTTPS server on loopback that counts the connections it accepts (and handshakes)."""
    connections = 0

    def get_request(self):
        _CountingHttpsServer.connections += 1
        return super().get_request()


def test_an_https_source_whose_certificate_cannot_be_verified_fails_at_once_naming_the_host(certificate):
    server = _CountingHttpsServer(("127.0.0.1", 0), http.server.SimpleHTTPRequestHandler)
    server.socket = certificate.server_context().wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    host = f"127.0.0.1:{server.server_address[1]}"
    # Five retries with a minute's backoff: a retried failure would not end in this test's time.
    client = HttpClient(PortalSettings(name="cong-dvc", base_url=f"https://{host}",
                                     max_retries=5, backoff_seconds=60))
    try:
        with pytest.raises(SourceError) as failure:
            client.get_page(f"https://{host}/thu-tuc-hanh-chinh")
    finally:
        client.close()
        server.shutdown()
        server.server_close()

    assert str(failure.value) == f"the certificate of {host} could not be verified (self-signed certificate)"
    assert _CountingHttpsServer.connections == 1


# --- no password in a URL the monitor shows -------------------------------------------------------

@pytest.mark.parametrize("url", ["postgres://giamsat:Bi-mat-123@db.example/motcua",   # an unsupported scheme
                                 "postgresql:/giamsat:Bi-mat-123@db.example/motcua"])  # not a URL at all
def test_a_bad_database_url_is_named_without_its_password(tmp_path, url):
    path = tmp_path / "config.toml"
    path.write_text(f'[database]\nurl = "{url}"\n', encoding="utf-8")

    with pytest.raises(ConfigError) as error:
        load_settings(path)

    assert "database.url" in str(error.value) and "Bi-mat-123" not in str(error.value)
    assert "giamsat:***@db.example" in str(error.value)
