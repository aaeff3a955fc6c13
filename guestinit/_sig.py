"""The C signal module, without ``signal.py``'s enum import (about 5 ms at start-up).

``_signal`` has no type stubs; mypy is shown ``signal``, which exposes the same
functions and constants.
"""

TYPE_CHECKING = False
if TYPE_CHECKING:
    import signal as sig
else:
    import _signal as sig

__all__ = ["sig"]
