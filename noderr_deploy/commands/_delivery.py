"""How a prepared beacon call leaves: the ``--format``/``--safe``/``--out``/``--send``
choices of ``publish``, ``rollback propose`` and ``rollback check --propose``, checked for
contradictions before anything is read."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from noderr_deploy.errors import UsageError


@dataclass(frozen=True)
class Delivery:
    """How the prepared call leaves: as a document, or sent."""

    fmt: str = "proposal"
    safe: str | None = None
    out: Path | None = None
    send: bool = False
    keystore: Path | None = None
    sender: str | None = None
    yes: bool = False
    given: Mapping[str, str] = field(default_factory=dict)
    """How ``fmt``, ``safe`` and ``keystore`` were given, for messages (a flag, or the
    variable their value came from); missing: ``--format``, ``--safe``, ``--keystore``."""

    def name(self, what: str) -> str:
        return self.given.get(what) or {"fmt": "--format"}.get(what, f"--{what}")

    def check(self) -> Delivery:
        """Contradictions and missing companions, before anything is read."""
        from noderr_deploy.chain.proposal import Format
        from noderr_deploy.chain.settings import checksum_address

        if self.fmt not in {f.value for f in Format}:
            raise UsageError(f"{self.name('fmt')} {self.fmt!r}: use safe, proposal or tx")
        safe, keystore = self.safe, self.keystore
        # From NODERR_KEYSTORE the keystore is ambient, as NODERR_SAFE_ADDRESS is: it signs
        # a --send unless --from names another signer; a proposal needs no key at all.
        ambient = keystore is not None and self.name("keystore").startswith("NODERR_")
        if ambient and (not self.send or self.sender is not None):
            keystore = None
        if self.send:
            # A --format given at all (even its default, proposal) says a document is wanted.
            if self.fmt != Format.proposal.value or "fmt" in self.given:
                # (--safe may come from NODERR_SAFE_ADDRESS: it is ignored when sending)
                raise UsageError(
                    f"--send and {self.name('fmt')} {self.fmt} exclude each other (a sent"
                    " call is no proposal)"
                )
            if self.out is not None:
                raise UsageError("--send and --out exclude each other (a sent call is no file)")
            if (keystore is None) == (self.sender is None):
                raise UsageError("--send needs exactly one of --keystore FILE and --from ADDRESS")
        elif keystore is not None or self.sender is not None or self.yes:
            flag = "--keystore" if keystore else "--from" if self.sender else "--yes"
            raise UsageError(f"{flag} is for --send")
        unused = self.send or self.fmt != Format.safe.value
        if unused and self.safe is not None and self.given.get("safe") == "--safe":
            # On the command line, unused: a mistake (from NODERR_SAFE_ADDRESS: ambient).
            raise UsageError(f"--safe is for {self.name('fmt')} safe (without --send)")
        if self.fmt == Format.safe.value and not self.send:
            if safe is None:
                raise UsageError(
                    f"{self.name('fmt')} safe needs --safe ADDRESS (the Safe that executes it)"
                )
            what = self.name("safe")
            safe = checksum_address(safe, what if what.startswith("NODERR_") else f"{what} address")
        if (
            self.out is not None
            and not (self.out.parent if str(self.out.parent) else Path()).is_dir()
        ):
            raise UsageError(f"--out {self.out}: no directory {self.out.parent}")
        return Delivery(
            self.fmt, safe, self.out, self.send, keystore, self.sender, self.yes, self.given
        )
