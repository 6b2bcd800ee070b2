"""Input: streaming capture reader and fast header decoder."""

from tcpforensics.io.decode import decode
from tcpforensics.io.reader import LINKTYPE_INVALID, Capture, open_capture

__all__ = ["Capture", "LINKTYPE_INVALID", "decode", "open_capture"]
