"""Report e-mails over a real local SMTP server (aiosmtpd): plain, STARTTLS with login, SSL; outbox; server down."""

from __future__ import annotations

import datetime as dt
import email
import ipaddress
import ssl
from email import policy
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult

from xl_addin.adapters.notify.smtp import parse_smtp_url, smtp_config
from xl_addin.config import Settings
from xl_addin.errors import ConfigError, UserError
from xl_addin.services.notify.notifications import ReportEmailNotSent, compose_report_email, deliver_email
from support.net import free_port
from support.smtp import Inbox, start_smtp

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def start(inbox: Inbox, **kw) -> Controller:
    return start_smtp(inbox, **kw)


@pytest.fixture(scope="module")
def tls_files(tmp_path_factory) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1, made here with the cryptography package."""
    crypto = pytest.importorskip("cryptography")
    del crypto
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = dt.datetime.now(dt.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - dt.timedelta(days=1))
            .not_valid_after(now + dt.timedelta(days=2))
            .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
                                                         x509.DNSName("localhost")]), critical=False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    folder = tmp_path_factory.mktemp("tls")
    cert_path, key_path = folder / "cert.pem", folder / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_path, key_path


def server_context(tls_files) -> ssl.SSLContext:
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(*map(str, tls_files))
    return ctx


@pytest.fixture
def report(tmp_path) -> Path:
    from openpyxl import Workbook

    wb = Workbook()
    wb.active.append(["承运商", "票数"])
    wb.active.append(["顺丰速运", 12])
    path = tmp_path / "reports" / "物流周报-2026-W10.xlsx"
    path.parent.mkdir()
    wb.save(path)
    return path


def compose(report: Path, to=("boss@example.com", "ops@example.com")):
    return compose_report_email(
        "物流周报 2026年第10周", {"发货票数": 120, "准时率": "96.7%"},
        [["承运商", "票数", "异常"], ["顺丰速运", 80, 1], ["中通快递", 40, "<b>2</b>"]],
        [report], "desk@example.com", list(to))


def test_report_over_plain_smtp_url(report, tmp_path):
    inbox = Inbox()
    ctl = start(inbox)
    try:
        env = {"XL_LOGISTICS_SMTP_URL": f"smtp://127.0.0.1:{ctl.port}"}
        result = deliver_email(compose(report), Settings(), tmp_path / "outbox", env=env)
    finally:
        ctl.stop()
    assert result.sent and result.path is None and result.server == f"127.0.0.1:{ctl.port}"
    assert len(inbox.messages) == 1
    mail_from, rcpts, raw = inbox.received[0]
    assert mail_from == "desk@example.com"
    assert rcpts == ["boss@example.com", "ops@example.com"]
    assert b"=?utf-8?" in raw.split(b"\r\n\r\n", 1)[0]  # RFC 2047 encoded subject on the wire
    msg = inbox.parsed()
    assert msg["Subject"] == "物流周报 2026年第10周"
    html_body = msg.get_body(("html",)).get_content()
    assert "<td" in html_body and "顺丰速运" in html_body and "发货票数" in html_body and "<b>120</b>" in html_body
    assert "&lt;b&gt;2&lt;/b&gt;" in html_body  # cell text is escaped, not markup
    assert "96.7%" in msg.get_body(("plain",)).get_content()
    attachments = list(msg.iter_attachments())
    assert len(attachments) == 1
    att = attachments[0]
    assert att.get_content_type() == XLSX
    assert att.get_filename() == "物流周报-2026-W10.xlsx"
    assert b"filename*=" in raw  # RFC 2231 encoded file name
    assert att.get_content() == report.read_bytes()
    assert not (tmp_path / "outbox").exists()


def test_report_over_starttls_with_login(report, tmp_path, tls_files):
    inbox = Inbox()

    def authenticator(server, session, envelope, mechanism, auth_data):
        inbox.logins.append(auth_data.login.decode())
        return AuthResult(success=auth_data.login == b"desk" and auth_data.password == b"s3cret")

    ctl = start(inbox, tls_context=server_context(tls_files), require_starttls=True,
                authenticator=authenticator, auth_required=True)
    try:
        settings = Settings()
        settings.smtp.host, settings.smtp.port, settings.smtp.security = "127.0.0.1", ctl.port, "starttls"
        settings.smtp.username, settings.smtp.password_env = "desk", "MY_SMTP_PW"
        env = {"MY_SMTP_PW": "s3cret", "XL_LOGISTICS_SMTP_CAFILE": str(tls_files[0])}
        result = deliver_email(compose(report, to=("客户 <c@example.com>",)), settings, tmp_path / "outbox", env=env)
        assert result.sent and result.recipients == ("c@example.com",)
        assert inbox.logins == ["desk"]
        assert inbox.parsed()["Subject"] == "物流周报 2026年第10周"

    finally:
        ctl.stop()


def test_report_over_ssl_url(report, tmp_path, tls_files):
    inbox = Inbox()
    ctl = start(inbox, ssl_context=server_context(tls_files))
    try:
        env = {"XL_LOGISTICS_SMTP_URL": f"smtps://127.0.0.1:{ctl.port}",
               "XL_LOGISTICS_SMTP_CAFILE": str(tls_files[0])}
        result = deliver_email(compose(report), Settings(), tmp_path / "outbox", env=env)
    finally:
        ctl.stop()
    assert result.sent
    assert inbox.parsed().get_body(("html",)) is not None
    assert list(inbox.parsed().iter_attachments())[0].get_content() == report.read_bytes()


def test_no_smtp_writes_eml_to_outbox(report, tmp_path):
    result = deliver_email(compose(report), Settings(), tmp_path / "outbox", env={})
    assert not result.sent and result.path.suffix == ".eml" and result.path.parent == tmp_path / "outbox"
    assert str(result.path) in result.describe()
    back = email.message_from_bytes(result.path.read_bytes(), policy=policy.default)
    assert back["Subject"] == "物流周报 2026年第10周"
    assert list(back.iter_attachments())[0].get_content() == report.read_bytes()


def test_server_down_gives_clear_error_and_keeps_report(report, tmp_path):
    port = free_port()  # nothing listens here
    env = {"XL_LOGISTICS_SMTP_URL": f"smtp://127.0.0.1:{port}"}
    with pytest.raises(UserError) as err:
        deliver_email(compose(report), Settings(), tmp_path / "outbox", env=env)
    assert isinstance(err.value, ReportEmailNotSent)
    assert f"127.0.0.1:{port}" in str(err.value) and "无法连接邮件服务器" in str(err.value)
    assert report.exists()  # the report itself is never touched
    copies = list((tmp_path / "outbox").glob("*.eml"))
    assert len(copies) == 1 and str(copies[0]) in str(err.value)


def test_smtp_url_forms():
    cfg = parse_smtp_url("smtp://desk%40x.cn@mail.x.cn:587?starttls=1", {"XL_LOGISTICS_SMTP_PASSWORD": "pw"})
    assert (cfg.host, cfg.port, cfg.security, cfg.username, cfg.password) == ("mail.x.cn", 587, "starttls", "desk@x.cn", "pw")
    assert cfg.from_address == "desk@x.cn" and "pw" not in repr(cfg)
    ssl_cfg = parse_smtp_url("smtps://mail.x.cn", {})
    assert (ssl_cfg.port, ssl_cfg.security) == (465, "ssl")
    assert parse_smtp_url("smtp://h", {}).security == "none"
    with pytest.raises(ConfigError):
        parse_smtp_url("http://h", {})
    assert smtp_config(Settings(), env={}) is None  # nothing configured: outbox
