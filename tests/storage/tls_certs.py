"""Throwaway TLS material for a test PostgreSQL server: a CA, a server certificate it signs, and an
unrelated CA (what a client with the wrong `sslCaPath` holds)."""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class TlsFiles:
    ca: Path
    other_ca: Path
    cert: Path
    key: Path


def make_tls_files(out: Path, server_names: list[str]) -> TlsFiles:
    """`server_names`: the DNS names the server certificate is for (its subjectAltName)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    now = datetime.datetime.now(datetime.UTC)

    def builder(subject: str, issuer: str, public_key: object) -> x509.CertificateBuilder:
        return (x509.CertificateBuilder()
                .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)]))
                .issuer_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, issuer)]))
                .public_key(public_key)  # type: ignore[arg-type]
                .serial_number(x509.random_serial_number())
                .not_valid_before(now - datetime.timedelta(days=1))
                .not_valid_after(now + datetime.timedelta(days=7)))

    def ca(name: str) -> tuple[ec.EllipticCurvePrivateKey, x509.Certificate]:
        key = ec.generate_private_key(ec.SECP256R1())
        cert = (builder(name, name, key.public_key())
                .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
                .sign(key, hashes.SHA256()))
        return key, cert

    def pem(cert: x509.Certificate) -> bytes:
        return cert.public_bytes(serialization.Encoding.PEM)

    out.mkdir(parents=True, exist_ok=True)
    ca_key, ca_cert = ca("swampd test CA")
    _, other = ca("another CA")
    server_key = ec.generate_private_key(ec.SECP256R1())
    server = (builder("postgres", "swampd test CA", server_key.public_key())
              .add_extension(x509.SubjectAlternativeName([x509.DNSName(n) for n in server_names]), critical=False)
              .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
              .sign(ca_key, hashes.SHA256()))
    files = TlsFiles(out / "ca.pem", out / "other-ca.pem", out / "server.crt", out / "server.key")
    files.ca.write_bytes(pem(ca_cert))
    files.other_ca.write_bytes(pem(other))
    files.cert.write_bytes(pem(server))
    files.key.write_bytes(server_key.private_bytes(serialization.Encoding.PEM,
                                                   serialization.PrivateFormat.TraditionalOpenSSL,
                                                   serialization.NoEncryption()))
    return files
