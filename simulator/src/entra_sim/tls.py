"""Key material kept in the state directory: the HTTPS CA and server certificate, the token-signing key, app
certificates and the managed-identity header secret. Each is made once and reused, so a restarted simulator keeps
the CA its clients already trust and the tokens it already issued stay valid.
"""

from __future__ import annotations

import datetime
import ipaddress
import os
import secrets
from collections.abc import Callable
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID

PrivateKey = ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey
_VALIDITY = datetime.timedelta(days=3650)


def _write_private(path: Path, data: bytes) -> None:
    """Write a secret file readable by its owner only, atomically."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)
    os.replace(tmp, path)


def _pem_key(key: PrivateKey) -> bytes:
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


def _certificate(subject: str, key: PrivateKey, issuer: x509.Name | None, issuer_key: PrivateKey,
                 extensions: list[tuple[x509.ExtensionType, bool]]) -> x509.Certificate:
    now = datetime.datetime.now(datetime.UTC)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)])
    builder = (
        x509.CertificateBuilder()
        .subject_name(name).issuer_name(issuer or name).public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5)).not_valid_after(now + _VALIDITY)
    )
    for extension, critical in extensions:
        builder = builder.add_extension(extension, critical=critical)
    return builder.sign(issuer_key, hashes.SHA256())


def _load_or_make(path: Path, make: Callable[[], bytes]) -> bytes:
    if not path.exists():
        _write_private(path, make())
    return path.read_bytes()


class KeyStore:
    """The simulator's secrets under ``state_dir``."""

    def __init__(self, state_dir: Path) -> None:
        self.dir = state_dir

    @property
    def ca_path(self) -> Path:
        return self.dir / "tls" / "ca.pem"

    def server_files(self, hosts: list[str]) -> tuple[Path, Path]:
        """(certificate chain, key) for HTTPS on ``hosts``; ECDSA keeps the per-connection handshake cheap."""
        ca_key_pem = _load_or_make(self.dir / "tls" / "ca-key.pem", lambda: _pem_key(ec.generate_private_key(
            ec.SECP256R1())))
        ca_key = serialization.load_pem_private_key(ca_key_pem, None)
        if not self.ca_path.exists():
            ca = _certificate("entra-sim local CA", ca_key, None, ca_key, [
                (x509.BasicConstraints(ca=True, path_length=0), True),
                (x509.KeyUsage(False, False, False, False, False, True, True, False, False), True),
                (x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), False),
            ])
            _write_private(self.ca_path, ca.public_bytes(serialization.Encoding.PEM))
        ca = x509.load_pem_x509_certificate(self.ca_path.read_bytes())
        cert_path, key_path = self.dir / "tls" / "server.pem", self.dir / "tls" / "server-key.pem"
        if not cert_path.exists() or not _covers(x509.load_pem_x509_certificate(cert_path.read_bytes()), hosts):
            key = ec.generate_private_key(ec.SECP256R1())
            names = [x509.IPAddress(ipaddress.ip_address(h)) if _is_ip(h) else x509.DNSName(h) for h in hosts]
            leaf = _certificate(hosts[0], key, ca.subject, ca_key, [
                (x509.SubjectAlternativeName(names), False),
                (x509.BasicConstraints(ca=False, path_length=None), True),
                (x509.ExtendedKeyUsage([x509.ExtendedKeyUsageOID.SERVER_AUTH]), False),
                # Python 3.13 verifies strictly (VERIFY_X509_STRICT), which wants both key identifiers.
                (x509.SubjectKeyIdentifier.from_public_key(key.public_key()), False),
                (x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), False),
            ])
            _write_private(key_path, _pem_key(key))
            _write_private(cert_path, leaf.public_bytes(serialization.Encoding.PEM))
        return cert_path, key_path

    def token_signing_key(self) -> rsa.RSAPrivateKey:
        pem = _load_or_make(self.dir / "keys" / "token-signing.pem",
                            lambda: _pem_key(rsa.generate_private_key(public_exponent=65537, key_size=2048)))
        return serialization.load_pem_private_key(pem, None)

    def app_certificate(self, name: str) -> tuple[Path, str]:
        """(path of a PEM holding the app's RSA key and self-signed certificate, the certificate PEM)."""
        path = self.dir / "apps" / f"{name}.pem"

        def make() -> bytes:
            key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
            cert = _certificate(f"entra-sim app {name}", key, None, key, [])
            return _pem_key(key) + cert.public_bytes(serialization.Encoding.PEM)

        pem = _load_or_make(path, make).decode()
        return path, pem[pem.index("-----BEGIN CERTIFICATE-----"):]

    def identity_header(self) -> str:
        return _load_or_make(self.dir / "keys" / "identity-header", lambda: secrets.token_hex(16).encode()).decode()


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def _covers(cert: x509.Certificate, hosts: list[str]) -> bool:
    san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    have = {str(v) for v in san.get_values_for_type(x509.IPAddress)} | set(san.get_values_for_type(x509.DNSName))
    return set(hosts) <= have
