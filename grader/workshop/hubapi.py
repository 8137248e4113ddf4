"""A small client of JupyterHub's REST API (https://jupyterhub.readthedocs.io/en/stable/reference/rest-api.html)."""

import json
import time
import urllib.error
import urllib.request


class HubError(RuntimeError):
    """The hub answered with an error status."""

    def __init__(self, status, message):
        super().__init__(f"JupyterHub answered {status}: {message}")
        self.status = status


class HubAPI:
    """Calls to the hub at ``url`` (``http://HOST:PORT/hub/api``) with ``token``."""

    def __init__(self, url, token):
        self.url = url.rstrip("/")
        self.token = token

    def call(self, method, path, body=None, timeout=60):
        """``method`` ``path`` (below the API) with a JSON ``body``; the decoded answer."""
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(
            self.url + path, data=data, method=method,
            headers={"Authorization": f"token {self.token}", "Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(request, timeout=timeout) as reply:
                text = reply.read().decode()
        except urllib.error.HTTPError as exc:
            raise HubError(exc.code, exc.read().decode(errors="replace")[:500]) from None
        return json.loads(text) if text.strip() else None

    def up(self):
        """Whether the hub answers."""
        try:
            self.call("GET", "/", timeout=5)
            return True
        except (OSError, HubError):
            return False

    def add_user(self, name, admin=False):
        """Create the hub user ``name`` (nothing when it exists)."""
        try:
            self.call("POST", f"/users/{name}", {"admin": admin})
        except HubError as exc:
            if exc.status != 409:
                raise

    def users(self):
        """{name: user model} of every hub user."""
        return {u["name"]: u for u in self.call("GET", "/users")}

    def start(self, name, timeout=240):
        """Start ``name``'s server and wait until it is ready; return its URL path."""
        try:
            self.call("POST", f"/users/{name}/server")
        except HubError as exc:
            if exc.status != 400:  # 400: already running
                raise
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            server = self.call("GET", f"/users/{name}")["servers"].get("", {})
            if server.get("ready"):
                return server["url"]
            if not server.get("pending") and not server:
                raise HubError(500, f"the server of {name} stopped while starting")
            time.sleep(1)
        raise TimeoutError(f"the server of {name} did not start within {timeout} s")

    def stop(self, name, timeout=120):
        """Stop ``name``'s server and wait until it is gone."""
        self.call("DELETE", f"/users/{name}/server")
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not self.call("GET", f"/users/{name}")["servers"]:
                return
            time.sleep(1)
        raise TimeoutError(f"the server of {name} did not stop within {timeout} s")

    def token_for(self, name, note="dlcourse"):
        """A new API token of user ``name`` (acts as them on their own server)."""
        return self.call("POST", f"/users/{name}/tokens", {"note": note})["token"]
