"""The simulated board's flash file system. MicroPython code: it runs inside the board's VM, never
on the host.

The WebAssembly VM's own file system is Emscripten's: its "no such file" is errno 44 where
MicroPython (and mpremote) expect ENOENT = 2, and it is gone at the next reset. This VFS keeps
the files in a host folder (the JS module `simflash` registered by runner.mjs) and raises the
errno values a Pico's littlefs raises, so mpremote's file commands, imports and a reset behave
as on the board. Mounted at "/" before boot.py and main.py run.
"""

import io

import simflash
import uctypes

_ENOENT = 2
_EISDIR = 21
_EINVAL = 22
_DIR = 0x4000
_FILE = 0x8000
_BLOCK = 4096
_BLOCKS = 352  # 1.4 MB, the Pico's MicroPython file system


def _check(ret):
    if isinstance(ret, int) and ret < 0:
        raise OSError(-ret)
    return ret


class FlashFile(io.IOBase):
    """A file held in memory while open; written back to the flash on flush and close."""

    def __init__(self, rel, mode):
        self._rel = rel
        self._binary = "b" in mode
        self._dirty = False
        self._closed = False
        kind = simflash.kind(rel)
        if kind == 2:
            raise OSError(_EISDIR)
        data = bytearray()
        if "w" in mode:
            self._dirty = True  # the file exists (empty) from open() on, as on littlefs
        elif kind == 0:
            if "a" not in mode:
                raise OSError(_ENOENT)
            self._dirty = True
        else:
            size = _check(simflash.size(rel))
            if size:
                data = bytearray(size)
                _check(simflash.read(rel, uctypes.addressof(data), size))
        self._data = data
        self._pos = len(data) if "a" in mode else 0
        self.flush()

    def readinto(self, buf):
        data = self._data
        n = min(len(buf), len(data) - self._pos)
        if n <= 0:
            return 0
        buf[:n] = memoryview(data)[self._pos:self._pos + n]
        self._pos += n
        return n

    def read(self, size=-1):
        data = self._data
        end = len(data) if size is None or size < 0 else min(len(data), self._pos + size)
        chunk = bytes(memoryview(data)[self._pos:end]) if end > self._pos else b""
        self._pos = max(end, self._pos)
        return chunk if self._binary else chunk.decode()

    def readline(self):
        data = self._data
        end = self._pos
        while end < len(data):
            end += 1
            if data[end - 1] == 10:
                break
        return self.read(end - self._pos)

    def __iter__(self):
        return self

    def __next__(self):
        line = self.readline()
        if not line:
            raise StopIteration
        return line

    def write(self, buf):
        if isinstance(buf, str):
            buf = buf.encode()
        data = self._data
        end = self._pos + len(buf)
        if self._pos == len(data):
            data.extend(buf)
        else:
            if end > len(data):
                data.extend(bytes(end - len(data)))
            data[self._pos:end] = buf
        self._pos = end
        self._dirty = True
        return len(buf)

    def seek(self, offset, whence=0):
        base = 0 if whence == 0 else self._pos if whence == 1 else len(self._data)
        if base + offset < 0:
            raise OSError(_EINVAL)
        self._pos = base + offset
        return self._pos

    def tell(self):
        return self._pos

    def flush(self):
        if self._dirty:
            data = self._data
            _check(simflash.write(self._rel, uctypes.addressof(data) if data else 0, len(data)))
            self._dirty = False

    def close(self):
        if not self._closed:
            self.flush()
            self._closed = True

    def ioctl(self, request, arg):
        if request == 1:  # MP_STREAM_FLUSH
            self.flush()
        elif request == 4:  # MP_STREAM_CLOSE
            self.close()
        elif request == 11:  # MP_STREAM_GET_BUFFER_SIZE: the import reader's buffer
            return 256
        else:
            return -1
        return 0

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


class FlashVfs:
    """The VFS methods MicroPython calls (vfs.mount); paths relative to the mount point."""

    def __init__(self):
        self._cwd = ""

    def _rel(self, path):
        """A path as the flash folder knows it: "" for the root, "tkfw/app.py" for a file."""
        parts = [] if path.startswith("/") else [p for p in self._cwd.split("/") if p]
        for part in path.split("/"):
            if part == "..":
                if parts:
                    parts.pop()
            elif part and part != ".":
                parts.append(part)
        return "/".join(parts)

    def mount(self, readonly, mkfs):
        pass

    def umount(self):
        pass

    def chdir(self, path):
        rel = self._rel(path)
        if rel and simflash.kind(rel) != 2:
            raise OSError(_ENOENT)
        self._cwd = rel

    def getcwd(self):
        return "/" + self._cwd

    def ilistdir(self, path):
        listing = _check(simflash.list(self._rel(path)))
        for line in listing.split("\n"):
            if line:
                name, kind, size = line.split("\t")
                yield (name, _DIR if kind == "2" else _FILE, 0, int(size))

    def stat(self, path):
        rel = self._rel(path)
        if not rel:
            return (_DIR, 0, 0, 0, 0, 0, 0, 0, 0, 0)
        kind = simflash.kind(rel)
        if kind == 0:
            raise OSError(_ENOENT)
        size = 0 if kind == 2 else _check(simflash.size(rel))
        return (_DIR if kind == 2 else _FILE, 0, 0, 0, 0, 0, size, 0, 0, 0)

    def statvfs(self, path):
        return (_BLOCK, _BLOCK, _BLOCKS, _BLOCKS - 40, _BLOCKS - 40, 0, 0, 0, 0, 255)

    def open(self, path, mode):
        return FlashFile(self._rel(path), mode)

    def mkdir(self, path):
        _check(simflash.mkdir(self._rel(path)))

    def remove(self, path):
        _check(simflash.remove(self._rel(path)))

    def rmdir(self, path):
        _check(simflash.rmdir(self._rel(path)))

    def rename(self, old, new):
        _check(simflash.rename(self._rel(old), self._rel(new)))


def mount():
    import os
    import vfs

    try:
        vfs.umount("/")  # Emscripten's file system, which holds only this file
    except OSError:
        pass
    vfs.mount(FlashVfs(), "/")
    os.chdir("/")
