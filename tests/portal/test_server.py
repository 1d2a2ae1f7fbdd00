"""The portal's production server: plain HTTP and the HTTPS-only (WiFi4EU) mode over TLS."""

from __future__ import annotations

import datetime
import http.client
import ssl
import threading

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from villenum.errors import GatewayError
from villenum.hotspots.gateway_config import settings_from_dict
from villenum.portal.app import create_app
from villenum.portal.server import make_server


def self_signed(tmp_path):
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "wifi.test.example")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now)
        .not_valid_after(now + datetime.timedelta(days=1))
        .sign(key, hashes.SHA256())
    )
    (tmp_path / "cert.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    (tmp_path / "key.pem").write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return str(tmp_path / "cert.pem"), str(tmp_path / "key.pem")


def loopback_settings(state_dir, port, gateway=None, **tables):
    """Settings through the TOML loader: the portal alone on 127.0.0.1:``port``."""
    doc = {
        "gateway": {
            "lan_interface": "lo",
            "wan_interface": "lo",
            "portal_address": "127.0.0.1",
            "portal_port": port,
            "state_dir": str(state_dir),
            **(gateway or {}),
        },
        **tables,
    }
    return settings_from_dict(doc)


def serve(settings, port):
    run, stop = make_server(create_app(settings), "127.0.0.1", port, settings, threads=4)
    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return stop


def get(conn, path, host):
    conn.request("GET", path, headers={"Host": host})
    response = conn.getresponse()
    return response.status, response.getheader("Location"), response.read()


def test_https_wifi4eu_portal(tmp_path, unused_port):
    cert, key = self_signed(tmp_path)
    settings = loopback_settings(
        tmp_path / "state",
        unused_port,
        {"portal_hostname": "wifi.test.example", "https": True, "tls_cert": cert, "tls_key": key},
        wifi4eu={"enabled": True, "network_identifier": "abc-123"},
    )
    stop = serve(settings, unused_port)
    try:
        context = ssl.create_default_context(cafile=cert)
        context.check_hostname = False  # the certificate names wifi.test.example, we dial 127.0.0.1
        conn = http.client.HTTPSConnection("127.0.0.1", unused_port, context=context, timeout=5)
        status, _, body = get(conn, "/?lang=en", "wifi.test.example")
        assert status == 200 and b"wifi4eu.min.js" in body
        conn.close()
        conn = http.client.HTTPSConnection("127.0.0.1", unused_port, context=context, timeout=5)
        status, location, _ = get(conn, "/hotspot-detect.html", "captive.apple.com")
        assert (status, location) == (302, f"https://wifi.test.example:{unused_port}/")
        conn.close()
    finally:
        stop()


def test_plain_http_rejects_oversized_headers(tmp_path, unused_port):
    settings = loopback_settings(tmp_path, unused_port)
    stop = serve(settings, unused_port)
    try:
        conn = http.client.HTTPConnection("127.0.0.1", unused_port, timeout=5)
        conn.request("GET", "/", headers={"X-Big": "x" * 100_000})
        try:
            status = conn.getresponse().status
        except (ConnectionError, http.client.HTTPException):
            status = None  # the server may simply drop the connection: also a refusal
        assert status is None or 400 <= status < 500
    finally:
        stop()


def test_busy_port_is_a_gateway_error(tmp_path, unused_port):
    settings = loopback_settings(tmp_path, unused_port)
    stop = serve(settings, unused_port)
    try:
        with pytest.raises(GatewayError, match="cannot listen"):
            make_server(create_app(settings), "127.0.0.1", unused_port, settings)
    finally:
        stop()


@pytest.fixture
def unused_port():
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]
