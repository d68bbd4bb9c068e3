"""AMI framing, as pure functions: bytes in, messages and the unparsed rest out.

Why not panoramisk's AMIProtocol.data_received: it decodes each TCP chunk on its own with
errors="ignore", so a UTF-8 character split across two reads (a Cyrillic caller name) is
silently dropped. Here one incremental decoder spans the whole stream. Each complete
message is still parsed by panoramisk's `Message.from_line`, so the rest of the code gets
the same case-insensitive message objects panoramisk users know.
"""

from __future__ import annotations

import codecs
from collections.abc import Iterable

from panoramisk.message import Message

EOL = "\r\n"
END_OF_MESSAGE = "\r\n\r\n"
BANNER_PREFIX = "Asterisk Call Manager/"
# A peer that never ends its banner or a message would grow our buffer without bound
# (247 MB in 30 s were seen). Asterisk's banner is ~30 characters and its largest
# messages (a long variable, a big list item) a few KiB: these limits leave room.
MAX_BANNER = 1024
MAX_MESSAGE = 1 << 20


class AmiFramingError(ValueError):
    """The peer sent something no AMI server sends (an endless banner or message)."""


class AmiStreamParser:
    """Turns the bytes of one AMI connection into messages. One parser per connection.

    `wanted_events`, when given, drops other events before they are parsed: a real
    Asterisk sends some twenty events per call and the dialer reads five, so parsing the
    rest would be most of its CPU. Anything carrying an ActionID (responses, list items,
    OriginateResponse) is always kept.
    """

    def __init__(self, wanted_events: frozenset[str] | None = None) -> None:
        self._decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        self._buffer = ""
        self.wanted = wanted_events
        self.banner: str | None = None

    def feed(self, data: bytes) -> list[Message]:
        self._buffer += self._decoder.decode(data)
        if self.banner is None:
            if EOL not in self._buffer:
                if len(self._buffer) > MAX_BANNER:
                    raise AmiFramingError(f"no end of the banner line in {MAX_BANNER} characters")
                return []
            line, _, self._buffer = self._buffer.partition(EOL)
            self.banner = line
        if END_OF_MESSAGE not in self._buffer:
            if len(self._buffer) > MAX_MESSAGE:
                raise AmiFramingError(f"a message longer than {MAX_MESSAGE} characters")
            return []
        *complete, self._buffer = self._buffer.split(END_OF_MESSAGE)
        if len(self._buffer) > MAX_MESSAGE:
            raise AmiFramingError(f"a message longer than {MAX_MESSAGE} characters")
        messages = []
        wanted = self.wanted
        for text in complete:
            if wanted is not None and text.startswith("Event: "):
                name = text[7 : text.find(EOL, 7)] if EOL in text else text[7:]
                if name not in wanted and "ActionID: " not in text:
                    continue
            message = Message.from_line(text.strip(EOL))
            if message is not None:
                messages.append(message)
        return messages

    @property
    def version(self) -> str | None:
        if self.banner and self.banner.startswith(BANNER_PREFIX):
            return self.banner[len(BANNER_PREFIX) :].strip()
        return None


class UnsafeHeader(ValueError):
    """A header would have broken AMI framing (CR/LF inside a key or value)."""


def encode_action(headers: Iterable[tuple[str, str]]) -> bytes:
    """Serialise an action, keeping header order (Action first, as Asterisk shows it).

    A value with CR or LF could smuggle a second action into the stream; refuse it.
    """
    lines = []
    for key, value in headers:
        text = str(value)
        if "\r" in key or "\n" in key or "\r" in text or "\n" in text or ":" in key:
            raise UnsafeHeader(f"unsafe AMI header {key!r}")
        lines.append(f"{key}: {text}")
    return (EOL.join(lines) + END_OF_MESSAGE).encode("utf-8")
