"""A local HTTP service that counts side effects (real HTTP, werkzeug in a thread), with fault injection.

``POST /objects/<kind>`` creates once per ``Idempotency-Key`` (201; 200 with the same object on replay),
``GET /objects/<kind>?key=`` looks up by key, ``DELETE /objects/<kind>/<id>`` deletes, ``POST /slow/<name>``
sleeps ``ms`` and records start/end, ``GET /stats`` returns counts. Faults are queued per path prefix:
``{"status": 429, "retry_after": "2"}`` answers without an effect; ``{"hang": 2.0}`` performs the effect,
then stalls (the client times out after the side effect happened).
"""

from __future__ import annotations

import itertools
import json
import threading
import time
from collections import Counter
from typing import Any

from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response


class CountingService:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.objects: dict[str, dict[str, dict[str, Any]]] = {}
        self.by_key: dict[tuple[str, str], str] = {}
        self.creates: Counter[str] = Counter()
        self.deletes: Counter[str] = Counter()
        self.posts: Counter[str] = Counter()
        self.faults: list[dict[str, Any]] = []
        self.slow: list[dict[str, Any]] = []
        self.hits: list[tuple[str, str, int, float]] = []  # method, path, status, monotonic time
        self._ids = itertools.count(1)
        self._server = make_server("127.0.0.1", 0, self._wsgi, threaded=True)
        self.url = f"http://127.0.0.1:{self._server.server_port}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def start(self) -> CountingService:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._thread.join(timeout=5)

    def add_fault(self, prefix: str, *, times: int = 1, **fault: Any) -> None:
        with self.lock:
            self.faults.append({"prefix": prefix, "times": times, **fault})

    def live(self, kind: str) -> int:
        with self.lock:
            return sum(1 for o in self.objects.get(kind, {}).values() if not o["deleted"])

    def creates_for_run(self, run_id: str) -> Counter[str]:
        with self.lock:
            return Counter(kind for (kind, key) in self.by_key if key.startswith(f"{run_id}:"))

    def _take_fault(self, path: str) -> dict[str, Any] | None:
        with self.lock:
            for fault in self.faults:
                if path.startswith(fault["prefix"]) and fault["times"] > 0:
                    fault["times"] -= 1
                    return dict(fault)
        return None

    def _wsgi(self, environ: Any, start_response: Any) -> Any:
        request = Request(environ)
        response = self._handle(request)
        with self.lock:
            self.hits.append((request.method, request.path, response.status_code, time.monotonic()))
        return response(environ, start_response)

    def hits_for(self, method: str, path: str) -> list[tuple[int, float]]:
        with self.lock:
            return [(status, at) for m, p, status, at in self.hits if m == method and p == path]

    def _json(self, body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
        return Response(json.dumps(body), status=status, headers=headers or {}, content_type="application/json")

    def _handle(self, request: Request) -> Response:
        parts = [p for p in request.path.split("/") if p]
        if parts == ["stats"]:
            with self.lock:
                return self._json({"creates": dict(self.creates), "deletes": dict(self.deletes)})
        fault = self._take_fault(request.path) if request.method != "GET" else None
        if fault is not None and "status" in fault:
            headers = {"Retry-After": str(fault["retry_after"])} if "retry_after" in fault else {}
            return self._json({"error": "injected"}, fault["status"], headers)
        if parts[:1] == ["slow"] and request.method == "POST":
            start = time.monotonic()
            time.sleep(int(request.args.get("ms", "100")) / 1000)
            with self.lock:
                self.slow.append(
                    {"name": parts[1], "run": request.args.get("run"), "start": start, "end": time.monotonic()}
                )
            return self._json({"ok": True})
        if parts[:1] != ["objects"]:
            return self._json({"error": "not found"}, 404)
        kind = parts[1]
        if request.method == "POST":
            key = request.headers.get("Idempotency-Key", "")
            body = request.get_json(silent=True) or {}
            with self.lock:
                self.posts[kind] += 1
                existing = self.by_key.get((kind, key)) if key else None
                if existing is None:
                    new_id = f"{kind}_{next(self._ids)}"
                    self.objects.setdefault(kind, {})[new_id] = {"key": key, "name": body.get("name"), "deleted": False}
                    if key:
                        self.by_key[(kind, key)] = new_id
                    self.creates[kind] += 1
                    status, obj_id = 201, new_id
                else:
                    status, obj_id = 200, existing
            if fault is not None and "hang" in fault:
                time.sleep(float(fault["hang"]))
            ms = int(body.get("ms", 0) or 0)
            if ms:
                time.sleep(ms / 1000)
            return self._json({"id": obj_id}, status)
        if request.method == "GET":
            with self.lock:
                found = self.by_key.get((kind, request.args.get("key", "")))
            return self._json({"id": found}) if found else self._json({"error": "not found"}, 404)
        if request.method == "DELETE" and len(parts) == 3:
            with self.lock:
                obj = self.objects.get(kind, {}).get(parts[2])
                if obj is None:
                    return self._json({"error": "not found"}, 404)
                if not obj["deleted"]:
                    obj["deleted"] = True
                    self.deletes[kind] += 1
            return Response(status=204)
        return self._json({"error": "bad request"}, 400)
