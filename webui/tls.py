"""HTTPS for launch(): the certificate and key uvicorn serves with, loaded once before it starts."""

from __future__ import annotations

import os
import ssl
from dataclasses import dataclass
from pathlib import Path


def _refuse_prompt() -> str:
    # Without this, OpenSSL asks for an encrypted key's password on the terminal and waits.
    raise ValueError("launch(ssl_keyfile=...) is encrypted: pass ssl_keyfile_password= too")


def _existing(argument: str, path: str | os.PathLike[str]) -> Path:
    if not isinstance(path, str | os.PathLike):
        raise TypeError(f"launch({argument}=...) must be a path, not {type(path).__name__}")
    if not Path(path).is_file():
        raise ValueError(f"launch({argument}=...): there is no file {os.fspath(path)!r}")
    return Path(path)


@dataclass(frozen=True)
class TLSFiles:
    """A PEM certificate chain, its private key (inside `certfile` when None) and its password."""

    certfile: Path
    keyfile: Path | None = None
    keyfile_password: str | None = None

    @classmethod
    def from_launch(
        cls,
        ssl_keyfile: str | os.PathLike[str] | None,
        ssl_certfile: str | os.PathLike[str] | None,
        ssl_keyfile_password: str | None,
        ssl_verify: bool = True,
    ) -> TLSFiles | None:
        """Checked files from launch()'s arguments; None serves plain HTTP.

        `ssl_verify` is accepted as Gradio takes it (for self-signed certificates) and only
        type-checked: webui never requests its own URL, so it has nothing to verify.

        Raises:
            TypeError: an argument of the wrong type.
            ValueError: a key without a certificate, a password without a key, a missing file,
                or files that do not load (not PEM, key and certificate do not match, a wrong
                or missing password).
        """
        if not isinstance(ssl_verify, bool):
            raise TypeError(f"launch(ssl_verify=...) must be a bool, not {type(ssl_verify)}")
        if ssl_keyfile_password is not None and not isinstance(ssl_keyfile_password, str):
            raise TypeError("launch(ssl_keyfile_password=...) must be a str")
        if ssl_certfile is None:
            if ssl_keyfile is not None:
                raise ValueError("launch(ssl_keyfile=...) needs its certificate: ssl_certfile=")
            if ssl_keyfile_password is not None:
                raise ValueError("launch(ssl_keyfile_password=...) is given without ssl_keyfile=")
            return None
        files = cls(
            certfile=_existing("ssl_certfile", ssl_certfile),
            keyfile=None if ssl_keyfile is None else _existing("ssl_keyfile", ssl_keyfile),
            keyfile_password=ssl_keyfile_password,
        )
        files.context()  # fails now, with the reason, rather than in the server's thread
        return files

    def context(self) -> ssl.SSLContext:
        """A server context holding the certificate and key.

        Raises:
            ValueError: the files do not load.
        """
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        password = self.keyfile_password if self.keyfile_password is not None else _refuse_prompt
        try:
            context.load_cert_chain(self.certfile, self.keyfile, password)
        except ssl.SSLError as e:
            raise ValueError(
                f"launch(ssl_certfile={str(self.certfile)!r}, ssl_keyfile="
                f"{None if self.keyfile is None else str(self.keyfile)!r}) could not be loaded "
                f"(PEM files of a matching key and certificate, and the key's password?): {e}"
            ) from None
        return context
