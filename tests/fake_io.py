"""A tkfw.app I/O backend over a byte string, for tests on CPython: input read in chunks of at most
`chunk` bytes, every write decoded by the host codec (with on_write(message) called), a fake
microsecond clock that moves 7 us a reading."""

from takeover import codec


class ByteIO:
    def __init__(self, data, chunk=4096, on_write=None):
        self.data = data
        self.pos = 0
        self.chunk = chunk
        self.on_write = on_write
        self.out = []  # every frame written, decoded
        self.now = 1000

    def ticks_us(self):
        self.now += 7
        return self.now

    def read_into(self, buf, start, count, timeout_us):
        n = min(count, self.chunk, len(self.data) - self.pos)
        buf[start:start + n] = self.data[self.pos:self.pos + n]
        self.pos += n
        return n

    def write(self, buf, count):
        (payload,) = codec.FrameReader().feed(bytes(buf[:count]))
        msg = codec.decode_payload(payload)
        self.out.append(msg)
        if self.on_write is not None:
            self.on_write(msg)
        return True

    def pending(self):
        return len(self.data) - self.pos

    def show(self, row):
        pass

    def hands_on(self):
        return False
