"""The FUSE binding: mfusepy (libfuse 2 or 3), else fusepy; imported only when serving."""

from types import ModuleType


class Unavailable(Exception):
    """This machine cannot serve the shim; the message says why."""


def load_binding() -> ModuleType:
    try:
        import mfusepy

        module: ModuleType = mfusepy
        return module
    except (ImportError, OSError) as first:  # OSError: the binding found no libfuse
        try:
            import fuse  # fusepy's module name; our fuse/ folder is not a package
        except (ImportError, OSError):
            raise Unavailable(f"no FUSE binding: {first} (pip install mfusepy)") from None
        if not hasattr(fuse, "FUSE"):
            raise Unavailable(f"no FUSE binding: {first} (pip install mfusepy)") from None
        return fuse
