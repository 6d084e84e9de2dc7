"""Access tokens the simulator issues (RS256 JWTs signed with its own key) and their validation by Graph."""

from __future__ import annotations

import base64
import hashlib
import time
import uuid
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric import rsa

from entra_sim.config import Config
from entra_sim.model.errors import GraphError

EMPTY = "Access token is empty."
EXPIRED = "Access token has expired or is not yet valid."
MALFORMED = "CompactToken parsing failed with error code: 80049217"
_CACHE_SIZE = 4096


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


class TokenService:
    """Issues tokens for apps and managed identities, and validates bearer tokens on Graph requests."""

    def __init__(self, key: rsa.RSAPrivateKey) -> None:
        self.key = key
        self.public_key = key.public_key()
        numbers = self.public_key.public_numbers()
        self.jwk = {
            "kty": "RSA", "use": "sig", "alg": "RS256",
            "n": b64url(numbers.n.to_bytes((numbers.n.bit_length() + 7) // 8, "big")),
            "e": b64url(numbers.e.to_bytes(3, "big")),
        }
        self.jwk["kid"] = b64url(hashlib.sha256(self.jwk["n"].encode()).digest())[:27]
        # Validated tokens and their claims: signature checks dominate a simple GET otherwise.
        self._valid: dict[str, dict[str, Any]] = {}

    def issue(self, *, issuer: str, audience: str, tenant_id: str, app_id: str, roles: list[str],
              lifetime: int) -> tuple[str, int]:
        """A token and its expiry (epoch seconds)."""
        now = int(time.time())
        claims = {
            "aud": audience, "iss": issuer, "iat": now, "nbf": now, "exp": now + lifetime, "tid": tenant_id,
            "appid": app_id, "azp": app_id, "oid": str(uuid.uuid5(uuid.NAMESPACE_URL, app_id)), "idtyp": "app",
            "roles": sorted(roles), "ver": "1.0", "uti": uuid.uuid4().hex,
        }
        token = jwt.encode(claims, self.key, algorithm="RS256", headers={"kid": self.jwk["kid"]})
        return token, claims["exp"]

    def validate(self, authorization: str | None, audience: str, tenant_id: str, config: Config) -> dict[str, Any]:
        """The claims of the bearer token in an Authorization header, or the 401 Graph answers."""
        scheme, _, token = (authorization or "").partition(" ")
        token = token.strip()
        if scheme.lower() != "bearer" or not token:
            raise GraphError(401, "InvalidAuthenticationToken", EMPTY)
        claims = self._valid.get(token)
        if claims is None:
            claims = self._decode(token, config)
            if claims["aud"] != audience or claims.get("tid") != tenant_id:
                raise config.error("token_invalid_audience")
            if len(self._valid) >= _CACHE_SIZE:
                self._valid.clear()
            self._valid[token] = claims
        now = time.time()
        if not claims["nbf"] <= now < claims["exp"]:
            raise GraphError(401, "InvalidAuthenticationToken", EXPIRED)
        return claims

    def _decode(self, token: str, config: Config) -> dict[str, Any]:
        try:
            return jwt.decode(token, self.public_key, algorithms=["RS256"],
                              options={"verify_aud": False, "verify_exp": False, "verify_nbf": False,
                                       "require": ["aud", "exp", "nbf"]})
        except jwt.InvalidSignatureError as exc:
            raise config.error("token_invalid_signature") from exc
        except jwt.PyJWTError as exc:
            raise GraphError(401, "InvalidAuthenticationToken", MALFORMED) from exc
