"""A small real RTSP server for tests: one H.264 stream over RTSP 1.0 (RFC 2326) with RTP over the
RTSP connection (interleaved, as the agent asks: `rtsp_transport tcp`), H.264 packetised per
RFC 6184 (single NAL units, FU-A fragments for larger ones), 90 kHz timestamps, paced at the
stream's frame rate and looped. Enough for FFmpeg's RTSP client: OPTIONS, DESCRIBE (SDP with the
SPS/PPS as sprop-parameter-sets), SETUP, PLAY, TEARDOWN.
"""

from __future__ import annotations

import base64
import socket
import socketserver
import struct
import threading
import time
from fractions import Fraction
from pathlib import Path

MTU_PAYLOAD = 1400


def annexb_units(path: Path) -> list[list[bytes]]:
    """The access units (each a list of NAL units, start codes removed) of an H.264 file, in decode
    order, read by PyAV and converted to Annex B."""
    import av

    units: list[list[bytes]] = []
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        bsf = av.BitStreamFilterContext("h264_mp4toannexb", stream)
        for packet in container.demux(stream):
            for out in bsf.filter(packet if packet.size else None):
                units.append([n for n in _split(bytes(out)) if n])
    return units


def _split(data: bytes) -> list[bytes]:
    out, at = [], 0
    starts = []
    while True:
        i = data.find(b"\x00\x00\x01", at)
        if i < 0:
            break
        starts.append(i + 3)
        at = i + 3
    for n, s in enumerate(starts):
        end = starts[n + 1] - 3 if n + 1 < len(starts) else len(data)
        nal = data[s:end]
        out.append(nal.rstrip(b"\x00") if n + 1 < len(starts) else nal)
    return out


def rtp_packets(nals: list[bytes], seq: int, ts: int, ssrc: int = 0x1234ABCD) -> tuple[list[bytes], int]:
    """RTP packets (payload type 96) of one access unit; the marker bit on its last packet."""
    payloads: list[bytes] = []
    for nal in nals:
        if len(nal) <= MTU_PAYLOAD:
            payloads.append(nal)
            continue
        header, body = nal[0], nal[1:]
        indicator = (header & 0xE0) | 28  # FU-A
        for i in range(0, len(body), MTU_PAYLOAD):
            chunk = body[i : i + MTU_PAYLOAD]
            start, end = i == 0, i + MTU_PAYLOAD >= len(body)
            fu = (0x80 if start else 0) | (0x40 if end else 0) | (header & 0x1F)
            payloads.append(bytes([indicator, fu]) + chunk)
    packets = []
    for n, payload in enumerate(payloads):
        marker = 0x80 if n == len(payloads) - 1 else 0
        packets.append(struct.pack(">BBHII", 0x80, marker | 96, seq & 0xFFFF, ts & 0xFFFFFFFF, ssrc) + payload)
        seq += 1
    return packets, seq


class RtspServer:
    """Serves `units` (access units) at `fps` on rtsp://127.0.0.1:<port>/live, looping, to each client."""

    def __init__(self, units: list[list[bytes]], fps: float, port: int) -> None:
        self.units, self.fps, self.port = units, fps, port
        sps = next(n for u in units for n in u if n[0] & 0x1F == 7)
        pps = next(n for u in units for n in u if n[0] & 0x1F == 8)
        self.sprop = f"{base64.b64encode(sps).decode()},{base64.b64encode(pps).decode()}"
        self.profile = sps[1:4].hex()
        self._server: socketserver.ThreadingTCPServer | None = None
        self._stopped = threading.Event()
        self.plays = 0

    @property
    def url(self) -> str:
        return f"rtsp://127.0.0.1:{self.port}/live"

    def sdp(self) -> str:
        return (
            "v=0\r\no=- 0 0 IN IP4 127.0.0.1\r\ns=streetwatch test\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"
            "m=video 0 RTP/AVP 96\r\na=rtpmap:96 H264/90000\r\n"
            f"a=fmtp:96 packetization-mode=1;profile-level-id={self.profile};sprop-parameter-sets={self.sprop}\r\n"
            "a=control:track1\r\n"
        )

    def start(self) -> None:
        server = self

        class Handler(socketserver.StreamRequestHandler):
            def handle(self) -> None:
                try:
                    while True:
                        request = self._read_request()
                        if request is None:
                            return
                        method, headers = request
                        cseq = headers.get("cseq", "0")
                        if method == "OPTIONS":
                            self._reply(cseq, "Public: OPTIONS, DESCRIBE, SETUP, PLAY, TEARDOWN\r\n")
                        elif method == "DESCRIBE":
                            body = server.sdp().encode()
                            self._reply(
                                cseq,
                                f"Content-Base: {server.url}/\r\nContent-Type: application/sdp\r\n"
                                f"Content-Length: {len(body)}\r\n",
                                body,
                            )
                        elif method == "SETUP":
                            self._reply(cseq, "Transport: RTP/AVP/TCP;unicast;interleaved=0-1\r\nSession: 4711\r\n")
                        elif method == "PLAY":
                            self._reply(cseq, "Session: 4711\r\nRange: npt=0.000-\r\n")
                            server.plays += 1
                            self._stream()
                            return
                        else:  # TEARDOWN and anything else
                            self._reply(cseq, "Session: 4711\r\n")
                            return
                except OSError:
                    return

            def _read_request(self) -> tuple[str, dict[str, str]] | None:
                line = self.rfile.readline()
                if not line:
                    return None
                method = line.decode().split(" ", 1)[0]
                headers: dict[str, str] = {}
                while True:
                    header = self.rfile.readline().decode().strip()
                    if not header:
                        break
                    name, _, value = header.partition(":")
                    headers[name.strip().lower()] = value.strip()
                if int(headers.get("content-length", "0")):
                    self.rfile.read(int(headers["content-length"]))
                return method, headers

            def _reply(self, cseq: str, headers: str, body: bytes = b"") -> None:
                self.wfile.write(f"RTSP/1.0 200 OK\r\nCSeq: {cseq}\r\n{headers}\r\n".encode() + body)

            def _stream(self) -> None:
                seq, frame = 0, 0
                step = Fraction(90000) / Fraction(server.fps)
                started = time.monotonic()
                self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                while not server._stopped.is_set():
                    for nals in server.units:
                        if server._stopped.is_set():
                            return
                        packets, seq = rtp_packets(nals, seq, int(frame * step))
                        for packet in packets:
                            self.wfile.write(b"$\x00" + struct.pack(">H", len(packet)) + packet)
                        frame += 1
                        delay = started + frame / server.fps - time.monotonic()
                        if delay > 0:
                            time.sleep(delay)

        socketserver.ThreadingTCPServer.allow_reuse_address = True
        socketserver.ThreadingTCPServer.daemon_threads = True
        self._server = socketserver.ThreadingTCPServer(("127.0.0.1", self.port), Handler)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        self._stopped.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
