"""Console users: one YAML file of names, roles and scrypt password hashes, so every action names a person.

The shared API bearer token never reaches a browser; operators sign in as themselves. Hashes use the standard
library's scrypt (memory-hard), written as `scrypt$n$r$p$salt$hash` so parameters can grow without a migration.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from enum import StrEnum
from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

SCRYPT_N, SCRYPT_R, SCRYPT_P = 2**14, 8, 1
MIN_PASSWORD_LENGTH = 10


class Role(StrEnum):
    OPERATOR = "operator"
    """Sees everything and acts: acknowledge, shelve, reset, out of service."""
    VIEWER = "viewer"
    """Sees everything, acts on nothing (a bureau's duty officer watching a site)."""


class User(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1, max_length=64, pattern=r"^[\w.@-]+$")
    display_name: str | None = Field(default=None, max_length=128)
    role: Role = Role.OPERATOR
    password_hash: str = Field(pattern=r"^scrypt\$\d+\$\d+\$\d+\$[A-Za-z0-9+/=]+\$[A-Za-z0-9+/=]+$")


class UsersFile(BaseModel):
    model_config = ConfigDict(extra="forbid")
    users: list[User] = Field(min_length=1)


class UsersFileError(ValueError):
    """The users file cannot be used: unreadable, not YAML, or a field is wrong (said with its path)."""


def hash_password(password: str, salt: bytes | None = None) -> str:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise ValueError(f"a password needs at least {MIN_PASSWORD_LENGTH} characters")
    salt = salt or secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, n=SCRYPT_N, r=SCRYPT_R, p=SCRYPT_P)
    encode = base64.b64encode
    return f"scrypt${SCRYPT_N}${SCRYPT_R}${SCRYPT_P}${encode(salt).decode()}${encode(digest).decode()}"


def verify_password(password: str, stored: str) -> bool:
    _, n, r, p, salt, digest = stored.split("$")
    expected = base64.b64decode(digest)
    given = hashlib.scrypt(
        password.encode(), salt=base64.b64decode(salt), n=int(n), r=int(r), p=int(p), dklen=len(expected)
    )
    return hmac.compare_digest(given, expected)


class Users:
    """The signed-in identities a console accepts; a wrong name costs as much time as a wrong password."""

    def __init__(self, users: list[User]) -> None:
        self._by_name = {u.name: u for u in users}
        self._decoy = hash_password(secrets.token_hex(8))

    @classmethod
    def load(cls, path: Path | str) -> Users:
        path = Path(path)
        try:
            document = yaml.safe_load(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError) as exc:
            raise UsersFileError(f"{path}: cannot read: {exc}") from exc
        except yaml.YAMLError as exc:
            raise UsersFileError(f"{path}: not valid YAML: {exc}") from exc
        try:
            parsed = UsersFile.model_validate(document)
        except ValidationError as exc:
            problems = "; ".join(f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors())
            raise UsersFileError(f"{path}: {problems}") from None
        return cls(parsed.users)

    def authenticate(self, name: str, password: str) -> User | None:
        user = self._by_name.get(name)
        ok = verify_password(password, user.password_hash if user else self._decoy)
        return user if user and ok else None

    def get(self, name: str) -> User | None:
        return self._by_name.get(name)
