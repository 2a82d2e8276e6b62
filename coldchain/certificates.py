"""The certificate authority of the managed broker's TLS listener.

Created on first start under `<data_dir>/tls/`: `ca.pem` / `ca.key` (0600), which every probe
carries to verify the broker, and `broker.pem` / `broker.key` (0600), the listener's
certificate, whose names cover every address a probe may be given (this machine's host name,
`mqtt.public_host`, its LAN addresses, localhost and 127.0.0.1). The broker certificate is
issued again when that list grows (a new LAN address, a public_host set later); the CA never
changes once created, so probes already flashed keep verifying the broker.

An operator with their own certificates sets `mqtt.broker_cert`, `mqtt.broker_key` and
`mqtt.broker_ca` instead; nothing is generated then (docs/https.md).
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import os
import tempfile
from pathlib import Path
from typing import Final

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from coldchain.broker import TlsFiles
from coldchain.network import certificate_names
from coldchain.settings import Settings

CA_YEARS: Final = 20  # a probe in a van is not reflashed often: the CA outlives the hardware
BROKER_DAYS: Final = 825  # reissued by `coldchain up` well before, see _needs_new_broker_cert
RENEW_BEFORE: Final = dt.timedelta(days=60)


def tls_dir(settings: Settings) -> Path:
    return settings.data_dir.resolve() / "tls"


def operator_files(settings: Settings) -> TlsFiles | None:
    """The operator's own listener files, when all three are set (validated by the settings)."""
    mqtt = settings.mqtt
    if mqtt.broker_ca and mqtt.broker_cert and mqtt.broker_key:
        return TlsFiles(mqtt.broker_ca, mqtt.broker_cert, mqtt.broker_key)
    return None


def probe_ca_file(settings: Settings) -> Path | None:
    """The CA certificate a probe must carry to verify the broker it is given; None: no TLS.

    Managed broker: the operator's `mqtt.broker_ca`, or the generated CA (created here on
    first use, so a probe provisioned before the first `coldchain up --lan` already carries
    the CA that listener will use). Unmanaged broker: `mqtt.tls_ca`, the CA the servers
    verify that broker with, or None when they reach it in plain MQTT.
    """
    if not settings.mqtt.managed:
        return settings.mqtt.tls_ca
    own = operator_files(settings)
    if own is not None:
        return own.ca
    return ensure_authority(tls_dir(settings))[0]


def broker_tls(settings: Settings, lan_addresses: list[str]) -> TlsFiles:
    """The managed listener's files: the operator's, or generated (the CA created on first
    start, the broker certificate issued again when a name is missing or it nears expiry)."""
    own = operator_files(settings)
    if own is not None:
        return own
    directory = tls_dir(settings)
    ca_pem, ca_key = ensure_authority(directory)
    names = [ip_or_dns(name) for name in certificate_names(settings, lan_addresses)]
    files = TlsFiles(ca_pem, directory / "broker.pem", directory / "broker.key")
    if _needs_new_broker_cert(files.cert, names):
        _issue_broker_cert(ca_pem, ca_key, files, names)
    return files


def ensure_authority(directory: Path) -> tuple[Path, Path]:
    """(ca.pem, ca.key), created once. Two processes starting together agree on one CA: the
    files appear by hard link, which fails if the other process linked them first."""
    ca_pem, ca_key = directory / "ca.pem", directory / "ca.key"
    if ca_pem.exists() and ca_key.exists():
        return ca_pem, ca_key
    directory.mkdir(parents=True, exist_ok=True)
    os.chmod(directory, 0o700)
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "coldchain"),
            x509.NameAttribute(NameOID.COMMON_NAME, "coldchain CA (this installation)"),
        ]
    )
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(hours=1))
        .not_valid_after(now + dt.timedelta(days=365 * CA_YEARS))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    try:
        _publish(ca_key, _key_bytes(key), mode=0o600, replace=False)
    except FileExistsError:
        return ca_pem, ca_key  # another process created it first; its ca.pem follows
    _publish(ca_pem, cert.public_bytes(serialization.Encoding.PEM), mode=0o644, replace=True)
    return ca_pem, ca_key


def _needs_new_broker_cert(cert_file: Path, names: list[x509.GeneralName]) -> bool:
    if not cert_file.exists():
        return True
    try:
        cert = x509.load_pem_x509_certificate(cert_file.read_bytes())
        present = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except (ValueError, x509.ExtensionNotFound):
        return True  # unreadable or foreign: issue a proper one
    expires = cert.not_valid_after_utc
    return any(n not in present for n in names) or expires - dt.datetime.now(dt.UTC) < RENEW_BEFORE


def _issue_broker_cert(
    ca_pem: Path, ca_key_file: Path, files: TlsFiles, names: list[x509.GeneralName]
) -> None:
    ca_cert = x509.load_pem_x509_certificate(ca_pem.read_bytes())
    ca_key = serialization.load_pem_private_key(ca_key_file.read_bytes(), password=None)
    if not isinstance(ca_key, ec.EllipticCurvePrivateKey):
        raise ValueError(f"{ca_key_file}: not the EC key this project generates")
    key = ec.generate_private_key(ec.SECP256R1())
    common = next((n.value for n in names if isinstance(n, x509.DNSName)), "localhost")
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common)]))
        .issuer_name(ca_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(hours=1))
        .not_valid_after(now + dt.timedelta(days=BROKER_DAYS))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.SubjectAlternativeName(names), critical=False)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()),
            critical=False,
        )
        .sign(ca_key, hashes.SHA256())
    )
    _publish(files.key, _key_bytes(key), mode=0o600, replace=True)
    _publish(files.cert, cert.public_bytes(serialization.Encoding.PEM), mode=0o644, replace=True)


def _key_bytes(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def _publish(target: Path, content: bytes, *, mode: int, replace: bool) -> None:
    """Write `content` to a temporary file with `mode` from the start (a key is never readable
    by others, not even for an instant), then put it in place whole."""
    fd, temporary = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.")
    try:
        os.fchmod(fd, mode)
        os.write(fd, content)
        os.fsync(fd)
        os.close(fd)
        if replace:
            os.replace(temporary, target)
        else:
            os.link(temporary, target)  # FileExistsError if it is already there
    finally:
        Path(temporary).unlink(missing_ok=True)


def ip_or_dns(name: str) -> x509.GeneralName:
    try:
        return x509.IPAddress(ipaddress.ip_address(name))
    except ValueError:
        return x509.DNSName(name)
