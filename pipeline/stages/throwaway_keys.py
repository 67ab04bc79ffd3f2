"""A private key the repository ships, replaced by a fresh one of the same kind.

A service that signs its tokens with a key pair from its resources (`app.key` beside
`app.pub`, a JWT signing key in a PEM file) does not start when redaction leaves a
placeholder where the key was: the PEM no longer parses. The key is a secret and must go,
but the service only needs *a* key of the same algorithm and encoding, and a public key the
repository ships beside it that matches the new one. So redaction generates a throwaway key
(RSA of the same size, or EC on the same curve, in the same PEM format), replaces the
repository's public keys that belong to the old key with the new key's, and records the new
key's fingerprint: it is the pipeline's own, never a secret of anyone, and the gate lets
exactly those keys pass (redact.py reads them back from the task's metadata.json).

An encrypted key, or one of a kind this module does not make, keeps the placeholder.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from cryptography.hazmat.primitives.asymmetric.types import PrivateKeyTypes, PublicKeyTypes

PRIVATE_KEY_BLOCK = re.compile(
    r"-----BEGIN ([A-Z0-9 ]*)PRIVATE KEY((?: BLOCK)?)-----.*?-----END \1PRIVATE KEY\2-----", re.DOTALL
)
PUBLIC_KEY_BLOCK = re.compile(r"-----BEGIN ((?:RSA )?)PUBLIC KEY-----.*?-----END \1PUBLIC KEY-----", re.DOTALL)


def fingerprint(block: str) -> str:
    """The SHA-256 of a PEM block's base64 body (line breaks and indentation do not count)."""
    body = re.sub(r"-----[A-Z0-9 ]+-----|\s", "", block)
    return hashlib.sha256(body.encode()).hexdigest()


@dataclass(frozen=True)
class Renewal:
    """One shipped private key and the key that replaces it."""

    new_block: str
    old_public: bytes  # the old key's public half, SubjectPublicKeyInfo DER
    new_key: PrivateKeyTypes


def _fresh_like(key: PrivateKeyTypes) -> PrivateKeyTypes | None:
    if isinstance(key, rsa.RSAPrivateKey):
        return rsa.generate_private_key(public_exponent=65537, key_size=key.key_size)
    if isinstance(key, ec.EllipticCurvePrivateKey):
        return ec.generate_private_key(key.curve)
    if isinstance(key, ed25519.Ed25519PrivateKey):
        return ed25519.Ed25519PrivateKey.generate()
    return None


def _spki(key: PublicKeyTypes) -> bytes:
    return key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)


def renew(block: str) -> Renewal | None:
    """A fresh key in the PEM format of `block` (PKCS#1 `RSA PRIVATE KEY`, SEC1 `EC PRIVATE
    KEY`, or PKCS#8 `PRIVATE KEY`), or None when the block is encrypted or not understood."""
    try:
        old = serialization.load_pem_private_key(_normalized(block).encode(), password=None)
    except (ValueError, TypeError):
        return None
    new = _fresh_like(old)
    if new is None:
        return None
    pkcs8 = block.lstrip().startswith("-----BEGIN PRIVATE KEY-----")
    encoding = serialization.PrivateFormat.PKCS8 if pkcs8 else serialization.PrivateFormat.TraditionalOpenSSL
    pem = new.private_bytes(serialization.Encoding.PEM, encoding, serialization.NoEncryption()).decode().strip()
    return Renewal(new_block=_indented_like(block, pem), old_public=_spki(old.public_key()), new_key=new)


def renewed_public_keys(text: str, renewals: list[Renewal]) -> tuple[str, int]:
    """`text` with every public key that belongs to a renewed private key replaced by the new
    key's public half (in the same PEM format), and how many were."""
    by_old = {r.old_public: r.new_key for r in renewals}
    count = 0

    def replace(match: re.Match[str]) -> str:
        nonlocal count
        try:
            key = serialization.load_pem_public_key(_normalized(match.group(0)).encode())
        except (ValueError, TypeError):
            return match.group(0)
        new_key = by_old.get(_spki(key))
        if new_key is None:
            return match.group(0)
        count += 1
        public_format = (
            serialization.PublicFormat.PKCS1 if match.group(1) else serialization.PublicFormat.SubjectPublicKeyInfo
        )
        pem = new_key.public_key().public_bytes(serialization.Encoding.PEM, public_format).decode().strip()
        return _indented_like(match.group(0), pem)

    return PUBLIC_KEY_BLOCK.sub(replace, text), count


def _normalized(block: str) -> str:
    """A PEM block as a parser wants it: one line each, no indentation (a key inside YAML
    or a string literal is indented, or joined with `\\n` escapes)."""
    block = block.replace("\\n", "\n")
    lines = [line.strip() for line in block.splitlines() if line.strip()]
    return "\n".join(lines) + "\n"


def _indented_like(old: str, pem: str) -> str:
    """`pem` laid out as `old` was: its escaped newlines kept (`\\n` inside a string), or
    each line after the first indented as the old one's second line was."""
    if "\\n" in old and "\n" not in old:
        return pem.replace("\n", "\\n")
    lines = old.splitlines()
    indent = re.match(r"[ \t]*", lines[1]).group(0) if len(lines) > 1 else ""
    return ("\n" + indent).join(pem.splitlines())
