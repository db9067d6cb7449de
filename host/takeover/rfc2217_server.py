"""Serve one serial port over the network as RFC 2217 (telnet COM-port control), for remote HIL.

The bench opens a remote board as `--port rfc2217://host:port`. On a lab PC, ser2net (labgrid's
NetworkSerialPort, docs/labgrid-env.yaml) is the usual server; this module is the one-file
alternative that needs nothing but pyserial, and what the HIL tests use to check the remote path:

    python -m takeover.rfc2217_server /dev/ttyACM0 --tcp 4001     # then: --port rfc2217://lab-pc:4001

One client at a time; a new client is served once the previous one has disconnected (each test
opens the port afresh). Input the board sent while no client was connected is discarded, so a
client never reads the previous session's frames. Built on pyserial's serial.rfc2217.PortManager,
as pyserial's examples/rfc2217_server.py is.
"""

from __future__ import annotations

import argparse
import socket
import sys
import threading

import serial
import serial.rfc2217


class Rfc2217Server:
    """Serve `path` (a device or pyserial URL) on tcp `host:tcp_port` (0: any free port)."""

    def __init__(self, path: str, tcp_port: int = 0, host: str = "localhost"):
        self.path = path
        self._ser = serial.serial_for_url(path, do_not_open=True, timeout=0.05)
        self._listener = socket.create_server((host, tcp_port))
        self.host = host
        self.tcp_port = self._listener.getsockname()[1]
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._client: socket.socket | None = None

    @property
    def url(self) -> str:
        return f"rfc2217://{self.host}:{self.tcp_port}"

    def start(self) -> "Rfc2217Server":
        self._ser.open()
        self._thread = threading.Thread(target=self.serve_forever, name="rfc2217-server", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        # shutdown() wakes a thread blocked in accept() or recv(); close() alone does not on Linux
        for sock in (self._listener, self._client):
            try:
                if sock is not None:
                    sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        self._listener.close()
        if self._thread is not None:
            self._thread.join(timeout=2)
        self._ser.close()

    def __enter__(self) -> "Rfc2217Server":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    def serve_forever(self) -> None:
        while not self._stop.is_set():
            try:
                client, _ = self._listener.accept()
            except OSError:  # listener closed by stop()
                return
            self._client = client
            with client:
                client.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)  # frames are small
                self._ser.reset_input_buffer()
                _Session(self._ser, client, self._stop).run()
            self._client = None


class _LinesOptional:
    """The serial port as PortManager sees it. A pseudo-terminal (the simulated board) has no modem
    lines: there reading one gives False and setting one does nothing, where the port raises ENOTTY
    and would end the session during the client's option negotiation."""

    _INPUTS = ("cts", "dsr", "ri", "cd")
    _OUTPUTS = ("rts", "dtr", "break_condition")

    def __init__(self, ser: serial.SerialBase):
        object.__setattr__(self, "_ser", ser)

    def __getattr__(self, name):
        try:
            return getattr(self._ser, name)
        except OSError:
            if name in self._INPUTS:
                return False
            raise

    def __setattr__(self, name, value):
        try:
            setattr(self._ser, name, value)
        except OSError:
            if name not in self._OUTPUTS:
                raise


class _Session:
    """One client: serial -> socket in a thread, socket -> serial here, telnet handled by pyserial."""

    def __init__(self, ser: serial.SerialBase, client: socket.socket, stop: threading.Event):
        self.ser = ser
        self.client = client
        self._server_stop = stop
        self._done = threading.Event()
        self._lock = threading.Lock()
        self.rfc2217 = serial.rfc2217.PortManager(_LinesOptional(ser), self)

    def write(self, data: bytes) -> None:
        """PortManager's way back to the client (telnet answers), and the board's bytes."""
        with self._lock:
            self.client.sendall(data)

    def run(self) -> None:
        to_client = threading.Thread(target=self._serial_to_client, name="rfc2217-tx", daemon=True)
        to_client.start()
        try:
            while not (self._done.is_set() or self._server_stop.is_set()):
                data = self.client.recv(4096)
                if not data:
                    break
                self.ser.write(b"".join(self.rfc2217.filter(data)))
        except OSError:
            pass  # the client went away
        self._done.set()
        to_client.join(timeout=2)

    def _serial_to_client(self) -> None:
        while not self._done.is_set():
            try:
                data = self.ser.read(self.ser.in_waiting or 1)
                if data:
                    self.write(b"".join(self.rfc2217.escape(data)))
            except OSError:  # socket closed (or the port went away): end this session
                self._done.set()
                try:
                    self.client.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m takeover.rfc2217_server", description=__doc__.split("\n")[0])
    ap.add_argument("port", help="serial device or pyserial URL to serve, e.g. /dev/ttyACM0")
    ap.add_argument("--tcp", type=int, default=4001, help="TCP port to listen on (default 4001)")
    ap.add_argument("--host", default="localhost", help="address to listen on (default localhost; 0.0.0.0 for all)")
    args = ap.parse_args(argv)
    try:
        server = Rfc2217Server(args.port, args.tcp, args.host).start()
    except (serial.SerialException, OSError) as exc:
        print(f"cannot serve {args.port}: {exc}", file=sys.stderr)
        return 2
    print(server.url, flush=True)
    try:
        server._thread.join()
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
