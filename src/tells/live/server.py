"""The live page: a small HTTP server on 127.0.0.1 (standard library only) pushing the session
to the browser over server-sent events.

Routes: ``/`` the page (``page.html``); ``/events`` the event stream (``status`` about four
times a second with each face's box, emotion and action units; ``alert`` for every decided
event with a thumbnail of the face at its apex; ``end``); ``/frame.jpg`` the latest picture
(encoded only when a page asks for it). A page that connects late first receives every alert
so far.
"""

from __future__ import annotations

import base64
import json
import queue
import threading
from collections import deque
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib import resources

import numpy as np

from tells.contract import AU_NUMBERS, EMOTIONS
from tells.live.console import NOTE, event_json

#: seconds of face thumbnails kept to illustrate alerts
THUMB_KEEP_S = 6.0
THUMB_SIDE = 112


def _jpeg(rgb: np.ndarray, quality: int = 75) -> bytes:
    import cv2

    ok, buf = cv2.imencode(".jpg", cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR),
                           [cv2.IMWRITE_JPEG_QUALITY, quality])
    return buf.tobytes() if ok else b""


def _face_summary(row: dict, scale: float) -> dict:
    probs = {e: float(row.get(e, 0.0)) for e in EMOTIONS}
    top = max(probs, key=probs.get)
    aus = {f"AU{n:02d}": round(float(row.get(f"AU{n:02d}_r", 0.0)), 2) for n in AU_NUMBERS}
    return {"id": int(row["face_id"]),
            "box": [round(float(row[k]) / scale, 1) for k in ("x", "y", "width", "height")],
            "emotion": top, "p": round(probs[top], 3),
            "probs": {k: round(v, 3) for k, v in probs.items()}, "aus": aus}


class LivePage:
    """Session sink serving the live page on ``http://127.0.0.1:port/``."""

    def __init__(self, port: int = 0, host: str = "127.0.0.1"):
        from tells.errors import OutputError

        page = self
        self._clients: list[queue.Queue] = []
        self._lock = threading.Lock()
        self._alerts: list[str] = []
        self._status: str | None = None
        self._frame = None  # (index, image)
        self._jpeg: tuple[int, bytes] = (-1, b"")
        self._thumbs: dict[int, deque] = {}
        self._last_status = -1.0
        self._html = resources.files("tells.live").joinpath("page.html").read_bytes()

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *a):  # quiet
                pass

            def do_GET(self):
                path = self.path.split("?")[0]
                if path == "/":
                    self._send(200, "text/html; charset=utf-8", page._html)
                elif path == "/frame.jpg":
                    data = page.jpeg()
                    self._send(200 if data else 204, "image/jpeg", data)
                elif path == "/events":
                    page._stream(self)
                elif path == "/favicon.ico":
                    self._send(204, "image/x-icon", b"")
                else:
                    self._send(404, "text/plain", b"not found")

            def _send(self, code, ctype, body):
                self.send_response(code)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(body)))
                self.send_header("Cache-Control", "no-store")
                self.end_headers()
                self.wfile.write(body)

        try:
            self.httpd = ThreadingHTTPServer((host, port), Handler)
        except OSError as exc:
            raise OutputError(f"cannot serve the live page on {host}:{port} ({exc.strerror})") \
                from None
        self.httpd.daemon_threads = True
        self.url = f"http://{host}:{self.httpd.server_address[1]}/"
        self._thread = threading.Thread(target=self.httpd.serve_forever, name="tells-live-page",
                                        daemon=True)
        self._thread.start()

    # -- the stream ------------------------------------------------------------------------
    def _stream(self, handler) -> None:
        q: queue.Queue = queue.Queue(maxsize=256)
        with self._lock:
            backlog = list(self._alerts) + ([self._status] if self._status else [])
            self._clients.append(q)
        try:
            handler.send_response(200)
            handler.send_header("Content-Type", "text/event-stream")
            handler.send_header("Cache-Control", "no-store")
            handler.end_headers()
            for msg in backlog:
                handler.wfile.write(msg.encode())
            handler.wfile.flush()
            while True:
                try:
                    msg = q.get(timeout=10)
                except queue.Empty:
                    msg = ": keep-alive\n\n"
                if msg is None:
                    break
                handler.wfile.write(msg.encode())
                handler.wfile.flush()
        except (BrokenPipeError, ConnectionResetError):
            pass
        finally:
            with self._lock:
                self._clients.remove(q)

    def publish(self, kind: str, data: dict, keep: bool = False) -> None:
        msg = f"event: {kind}\ndata: {json.dumps(data)}\n\n"
        with self._lock:
            if keep:
                self._alerts.append(msg)
            if kind == "status":
                self._status = msg
            for q in self._clients:
                try:
                    q.put_nowait(msg)
                except queue.Full:  # a slow page misses status updates, never the server
                    pass

    def jpeg(self) -> bytes:
        got = self._frame
        if got is None:
            return b""
        if self._jpeg[0] != got[0]:
            self._jpeg = (got[0], _jpeg(got[1]))
        return self._jpeg[1]

    # -- session sink ----------------------------------------------------------------------
    def start(self, session) -> None:
        from tells.live.session import CONSENT_NOTE

        cap = session.capture
        self.publish("hello", {"source": cap.description, "consent": CONSENT_NOTE,
                               "note": NOTE, "delay_s": session.delay_s}, keep=True)

    def frame(self, session, frame, rows: list[dict]) -> None:
        self._frame = (frame.index, frame.image)
        faces = [r for r in rows if r.get("success")]
        if faces:
            self._keep_thumbs(frame, faces)
        if frame.t - self._last_status < 0.25 and self._last_status >= 0:
            return
        self._last_status = frame.t
        h, w = frame.image.shape[:2]
        self.publish("status", {
            "t": round(frame.t, 3), "frame": frame.index, "width": w, "height": h,
            "fps": round(session.fps, 1), "dropped": session.dropped,
            "captured": session.capture.captured, "latency_ms": round(session.latency_ms),
            "alerts": len(session.events),
            "faces": [_face_summary(r, frame.scale) for r in faces]})

    def _keep_thumbs(self, frame, faces: list[dict]) -> None:
        import cv2

        img = frame.image
        h, w = img.shape[:2]
        for r in faces:
            x, y = float(r["x"]) / frame.scale, float(r["y"]) / frame.scale
            bw, bh = float(r["width"]) / frame.scale, float(r["height"]) / frame.scale
            side = 1.3 * max(bw, bh)
            cx, cy = x + bw / 2, y + bh / 2
            x0, y0 = int(max(0, cx - side / 2)), int(max(0, cy - side / 2))
            x1, y1 = int(min(w, cx + side / 2)), int(min(h, cy + side / 2))
            if x1 - x0 < 8 or y1 - y0 < 8:
                continue
            # every frame's thumbnail is kept (the apex is known later): a bilinear resize
            # of the crop taken every k-th pixel, k the whole times the thumbnail fits in it
            # (INTER_AREA over the whole crop cost 1-3 ms a face on every frame)
            k = max(1, min(x1 - x0, y1 - y0) // THUMB_SIDE)
            thumb = cv2.resize(img[y0:y1:k, x0:x1:k], (THUMB_SIDE, THUMB_SIDE),
                               interpolation=cv2.INTER_LINEAR)
            dq = self._thumbs.setdefault(int(r["face_id"]), deque())
            dq.append((frame.index, frame.t, thumb))
            while dq and dq[0][1] < frame.t - THUMB_KEEP_S:
                dq.popleft()

    def event(self, session, ev) -> None:
        rec = ev.record
        thumb = ""
        dq = self._thumbs.get(int(rec["face_id"]))
        if dq:
            best = min(dq, key=lambda item: abs(item[0] - int(rec["apex_frame"])))
            thumb = "data:image/jpeg;base64," + base64.b64encode(_jpeg(best[2], 85)).decode()
        self.publish("alert", {**event_json(session, ev), "thumbnail": thumb}, keep=True)

    def end(self, session, result) -> None:
        live = result.run["live"]
        self.publish("end", {"ended_by": live["ended_by"], "frames": result.run["frames"],
                             "dropped": live["dropped_frames"], "events": len(result.events)},
                     keep=True)

    def close(self) -> None:
        with self._lock:
            for q in self._clients:
                try:
                    q.put_nowait(None)
                except queue.Full:
                    pass
        self.httpd.shutdown()
        self.httpd.server_close()
