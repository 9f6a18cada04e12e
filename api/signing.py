"""The installation's Ed25519 key: it signs every report the service issues and every audit entry,
so that a forger who recomputes a SHA-256 still cannot produce a signature.

The private key is ``signing-key.pem`` in the service's data directory (created on first use, mode
0600); its public half, ``signing-key.pub.pem`` beside it, is what anyone needs to verify. A key is
named by its fingerprint: the first 16 hex digits of the SHA-256 of its raw public bytes.
"""

from __future__ import annotations

import base64
import hashlib
import os
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from leian.errors import InvalidInput

PRIVATE_FILE = "signing-key.pem"
PUBLIC_FILE = "signing-key.pub.pem"


def fingerprint(public: Ed25519PublicKey) -> str:
    raw = public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()[:16]


class Verifier:
    """Checks signatures made by one installation."""

    def __init__(self, public: Ed25519PublicKey):
        self.public = public
        self.fingerprint = fingerprint(public)

    @classmethod
    def from_pem(cls, path: Path) -> Verifier:
        try:
            key = serialization.load_pem_public_key(path.read_bytes())
        except OSError as e:
            raise InvalidInput(f"cannot read the public key {path.name}: {e.strerror}") from None
        except ValueError:
            raise InvalidInput(f"{path.name} is not a PEM public key") from None
        if not isinstance(key, Ed25519PublicKey):
            raise InvalidInput(f"{path.name} is not an Ed25519 public key")
        return cls(key)

    def valid(self, message: bytes, signature: str) -> bool:
        try:
            self.public.verify(base64.b64decode(signature, validate=True), message)
        except (InvalidSignature, ValueError):
            return False
        return True

    def public_pem(self) -> str:
        return self.public.public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        ).decode()


class Signer(Verifier):
    def __init__(self, private: Ed25519PrivateKey):
        super().__init__(private.public_key())
        self._private = private

    def sign(self, message: bytes) -> str:
        return base64.b64encode(self._private.sign(message)).decode()


def installation_signer(data_dir: Path) -> Signer:
    """The installation's key in ``data_dir``, made on first use (atomically: two processes starting
    at once end up with the same key)."""
    path = data_dir / PRIVATE_FILE
    if not path.exists():
        data_dir.mkdir(parents=True, exist_ok=True)
        pem = Ed25519PrivateKey.generate().private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
        tmp = data_dir / f".{PRIVATE_FILE}.{os.getpid()}"
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as f:
            f.write(pem)
            f.flush()
            os.fsync(f.fileno())
        try:
            os.link(tmp, path)  # fails if another process made it first: theirs wins
        except FileExistsError:
            pass
        finally:
            tmp.unlink()
    try:
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    except ValueError:
        raise InvalidInput(
            f"{PRIVATE_FILE} in the service's data directory is not a PEM private key"
        ) from None
    if not isinstance(key, Ed25519PrivateKey):
        raise InvalidInput(f"{PRIVATE_FILE} in the service's data directory is not an Ed25519 key")
    signer = Signer(key)
    public = data_dir / PUBLIC_FILE
    if not public.exists() or public.read_text() != signer.public_pem():
        public.write_text(signer.public_pem())
    return signer


def installation_verifier(data_dir: Path) -> Verifier:
    """The installation's public key, for checking without the private one."""
    path = data_dir / PUBLIC_FILE
    if path.exists():
        return Verifier.from_pem(path)
    if (data_dir / PRIVATE_FILE).exists():
        return installation_signer(data_dir)
    raise InvalidInput(
        f"no signing key in {data_dir}: this installation has not issued anything yet "
        "(or pass --public-key FILE)"
    )


__all__ = ["PUBLIC_FILE", "Signer", "Verifier", "fingerprint", "installation_signer", "installation_verifier"]
