"""Exceptions and warnings of ark.

Every error a user can meet has its own class, so callers can catch exactly
what they handle:

- FormatError (and one subclass per problem, e.g. ChecksumMismatchError):
  the file is not a valid .ark file. These come from the native module.
- UntrustedTypeError: the file names types that are not trusted; lists them all.
  ForbiddenTypeError (a subclass): it names things ark never loads (os.system...).
- InvalidObjectError: the object tree is malformed or inconsistent.
- UnstorableObjectError: dump() met an object it cannot store safely
  (a lambda, a locally defined function, an open file...).
- ValidationError: the loaded model does not reproduce its stored
  validation outputs.
- VersionMismatchError / InconsistentVersionWarning: the file was written
  under another scikit-learn version.
"""
from _ark import (  # noqa: F401  (re-exported)
    BadMagicError,
    BadManifestError,
    ChecksumMismatchError,
    CodecError,
    UnsupportedError,
    FormatError,
    InvalidArgumentError,
    IoError,
    LimitExceededError,
    OutOfBoundsError,
    OverlapError,
    SizeOverflowError,
    TruncatedError,
    UnknownDtypeError,
    UnsupportedVersionError,
)


class ArkError(Exception):
    """Base class of ark's own errors that are not about the file's bytes."""


class UntrustedTypeError(ArkError):
    """The file references types outside the trust list.

    `types` lists every untrusted type name at once, sorted. Load anyway by
    naming them: ark.load(path, trusted=[...]) — only after reviewing them.
    """

    def __init__(self, types, path=None):
        self.types = sorted(set(types))
        where = f" in {path}" if path else ""
        super().__init__(
            f"untrusted types{where}: {', '.join(self.types)}. "
            f"Review them, then pass trusted={self.types!r} to load them."
        )


class ForbiddenTypeError(UntrustedTypeError):
    """The file names objects that ark never loads, even when trusted (e.g. os.system)."""

    def __init__(self, types, forbidden, path=None):
        super().__init__(types, path)
        self.forbidden = sorted(set(forbidden))
        self.args = (
            f"refusing to load{' ' + str(path) if path else ''}: it names "
            f"{', '.join(self.forbidden)}, which can run code or reach the system and are "
            f"never loaded, even with trusted=. A model file has no need of them: treat this "
            f"file as hostile. All untrusted names: {', '.join(self.types)}.",
        )

    def __str__(self):
        return self.args[0]


class InvalidObjectError(ArkError, ValueError):
    """The object tree is malformed or inconsistent (a hostile or corrupt file):
    a node of the wrong shape, a dangling reference, a tree whose node arrays
    point out of range..."""


class UnstorableObjectError(ArkError, TypeError):
    """dump() met an object that cannot be stored as data."""


class ValidationError(ArkError):
    """The loaded model's outputs differ from the stored validation outputs.

    Attributes: method (e.g. "predict_proba"), max_difference (float, or None
    for label mismatches), detail (str).
    """

    def __init__(self, method, max_difference, detail=""):
        self.method = method
        self.max_difference = max_difference
        self.detail = detail
        diff = "" if max_difference is None else f" (largest difference {max_difference!r})"
        super().__init__(
            f"validation failed for {method}{diff}: {detail} "
            f"The model does not reproduce the outputs stored when it was saved; "
            f"load with validate=False to inspect it anyway."
        )


class VersionMismatchError(ArkError):
    """The file was written under another major scikit-learn version."""

    def __init__(self, package, saved, installed):
        self.package, self.saved, self.installed = package, saved, installed
        super().__init__(
            f"{package} {saved} wrote this file but {installed} is installed; a major "
            f"version change can change behaviour. Pass allow_version_mismatch=True "
            f"to load it anyway (validation samples, if present, are still checked)."
        )


class InconsistentVersionWarning(UserWarning):
    """The file was written under another minor version of a package."""

    def __init__(self, package, saved, installed):
        self.package, self.saved, self.installed = package, saved, installed
        super().__init__(
            f"{package} {saved} wrote this file; {installed} is installed. "
            f"Predictions are checked against the stored validation samples when present."
        )
