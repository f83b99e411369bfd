"""Running ringside-proxy in tests: find the binary, write a bootstrap, start, talk to the admin, stop.

The binary is $RINGSIDE_PROXY if set, else `bazel info bazel-bin`/proxy/ringside-proxy (Bazel startup
options for that query can be given in $RINGSIDE_BAZEL_STARTUP, e.g. "--output_base=/tmp/b").
"""

import ctypes
import http.client
import json
import os
import re
import resource
import shlex
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path

import yaml

from netns import in_netns

REPO = Path(__file__).resolve().parents[2]
SANITIZER_MARKERS = ("ERROR: AddressSanitizer", "ERROR: LeakSanitizer", "runtime error:",
                     "ERROR: ThreadSanitizer", "SUMMARY: UndefinedBehaviorSanitizer")

PR_SET_PDEATHSIG = 1
_binary = None


class BinaryNotFound(Exception):
    pass


def find_proxy_binary():
    """Path of ringside-proxy, or raises BinaryNotFound with the reason."""
    global _binary
    if _binary:
        return _binary
    env = os.environ.get("RINGSIDE_PROXY")
    if env:
        if not os.access(env, os.X_OK):
            raise BinaryNotFound(f"RINGSIDE_PROXY={env} is not an executable file")
        _binary = env
        return env
    cmd = ["bazel"] + shlex.split(os.environ.get("RINGSIDE_BAZEL_STARTUP", "")) + ["info", "bazel-bin"]
    try:
        cp = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, timeout=300)
    except (OSError, subprocess.TimeoutExpired) as e:
        raise BinaryNotFound(f"{' '.join(cmd)}: {e}") from e
    if cp.returncode != 0:
        raise BinaryNotFound(f"{' '.join(cmd)} failed: {cp.stderr.strip()[-500:]}")
    path = os.path.join(cp.stdout.strip(), "proxy", "ringside-proxy")
    if not os.access(path, os.X_OK):
        raise BinaryNotFound(f"{path} does not exist: build it with bazel build //proxy:ringside-proxy")
    _binary = path
    return path


def free_port(host="127.0.0.1"):
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def nofile_hard_limit():
    return resource.getrlimit(resource.RLIMIT_NOFILE)[1]


def raise_nofile(n):
    """Raises this process's RLIMIT_NOFILE soft limit to n (and the hard limit when allowed: it needs
    CAP_SYS_RESOURCE). Returns the soft limit now in force, which may be lower than n."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft >= n:
        return soft
    if hard != resource.RLIM_INFINITY and hard < n:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (n, n))
            return n
        except (ValueError, OSError):
            n = hard
    resource.setrlimit(resource.RLIMIT_NOFILE, (n, hard))
    return n


# --- bootstrap builders -------------------------------------------------------------------------

TCP_PROXY_TYPE = "type.googleapis.com/envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy"
ORIGINAL_DST_TYPE = "type.googleapis.com/envoy.extensions.filters.listener.original_dst.v3.OriginalDst"


def socket_address(host, port):
    return {"socket_address": {"address": host, "port_value": port}}


def tcp_proxy_listener(name, port, cluster=None, weighted=None, stat_prefix=None, host="127.0.0.1",
                       idle_timeout=None, max_connect_attempts=None, original_dst=False, **extra):
    """A listener whose single filter chain is tcp_proxy to `cluster` or `weighted` [(cluster, weight)]."""
    tcp = {"@type": TCP_PROXY_TYPE, "stat_prefix": stat_prefix or name}
    if weighted:
        tcp["weighted_clusters"] = {"clusters": [{"name": c, "weight": w} for c, w in weighted]}
    else:
        tcp["cluster"] = cluster
    if idle_timeout is not None:
        tcp["idle_timeout"] = idle_timeout
    if max_connect_attempts is not None:
        tcp["max_connect_attempts"] = max_connect_attempts
    lst = {
        "name": name,
        "address": socket_address(host, port),
        "filter_chains": [{"filters": [{"name": "envoy.filters.network.tcp_proxy", "typed_config": tcp}]}],
    }
    if original_dst:
        lst["listener_filters"] = [{"name": "envoy.filters.listener.original_dst",
                                    "typed_config": {"@type": ORIGINAL_DST_TYPE}}]
    lst.update(extra)
    return lst


def cluster(name, endpoints=(), lb_policy="ROUND_ROBIN", connect_timeout="1s", type="STATIC", **extra):
    """A cluster; endpoints are (host, port) or (host, port, weight)."""
    c = {"name": name, "type": type, "connect_timeout": connect_timeout, "lb_policy": lb_policy}
    if type != "ORIGINAL_DST":
        lb_endpoints = []
        for ep in endpoints:
            e = {"endpoint": {"address": socket_address(ep[0], ep[1])}}
            if len(ep) > 2:
                e["load_balancing_weight"] = ep[2]
            lb_endpoints.append(e)
        c["load_assignment"] = {"cluster_name": name, "endpoints": [{"lb_endpoints": lb_endpoints}]}
    c.update(extra)
    return c


def bootstrap(admin_port, listeners, clusters, admin_host="127.0.0.1"):
    return {
        "admin": {"address": socket_address(admin_host, admin_port)},
        "static_resources": {"listeners": list(listeners), "clusters": list(clusters)},
    }


def listener_stat(host, port, name):
    return f"listener.{host}_{port}.{name}"


# --- the process --------------------------------------------------------------------------------


class ProxyExited(AssertionError):
    pass


class Proxy:
    """One ringside-proxy process.

    config: dict (written as YAML) or str (written verbatim). admin_port: where the admin listens (taken
    from the config dict when None). netns: run inside that namespace (via `ip netns exec`). user: run
    as that uid/gid with setpriv (the binary is copied to a world-readable folder first). nofile: its
    RLIMIT_NOFILE.
    """

    def __init__(self, config, args=(), concurrency=1, drain_time_s=2, log_level="info", netns=None,
                 user=None, nofile=None, admin_port=None, admin_host="127.0.0.1", binary=None,
                 mode=None, extra_env=None):
        self.binary = binary or find_proxy_binary()
        self.workdir = Path(tempfile.mkdtemp(prefix="ringside-test-"))
        os.chmod(self.workdir, 0o755)
        self.config_path = self.workdir / "bootstrap.yaml"
        text = config if isinstance(config, str) else yaml.safe_dump(config, sort_keys=False)
        self.config_path.write_text(text)
        os.chmod(self.config_path, 0o644)
        if admin_port is None and isinstance(config, dict):
            sa = config.get("admin", {}).get("address", {}).get("socket_address", {})
            admin_port = sa.get("port_value")
            admin_host = sa.get("address", admin_host)
        self.admin_port = admin_port
        self.admin_host = admin_host
        self.netns = netns
        self.user = user
        self.nofile = nofile
        self.drain_time_s = drain_time_s
        self.concurrency = concurrency
        self.stderr_path = self.workdir / "stderr.log"
        self.stdout_path = self.workdir / "stdout.log"
        self.args = ["-c", str(self.config_path), "--log-level", log_level]
        if concurrency is not None:
            self.args += ["--concurrency", str(concurrency)]
        if drain_time_s is not None:
            self.args += ["--drain-time-s", str(drain_time_s)]
        if mode:
            self.args += ["--mode", mode]
        self.args += list(args)
        self.extra_env = extra_env or {}
        self.proc = None
        self.returncode = None

    # lifecycle

    def command(self):
        binary = self.binary
        cmd = []
        if self.user is not None:
            binary = str(self.workdir / "ringside-proxy")
            if not os.path.exists(binary):
                shutil.copy2(self.binary, binary)
                os.chmod(binary, 0o755)
            cmd = ["setpriv", f"--reuid={self.user}", f"--regid={self.user}", "--clear-groups"]
        cmd = cmd + [binary] + self.args
        if self.netns:
            cmd = ["ip", "netns", "exec", self.netns] + cmd
        return cmd

    def start(self, wait_ready=True, timeout=20.0):
        nofile = self.nofile

        def preexec():
            os.setsid()  # Ctrl-C on the test run does not reach the proxy: teardown stops it
            # ...and if the test process dies without a teardown, the proxy goes with it.
            ctypes.CDLL(None).prctl(PR_SET_PDEATHSIG, int(signal.SIGKILL), 0, 0, 0)
            if nofile is not None:
                hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
                if hard != resource.RLIM_INFINITY and nofile > hard:
                    try:
                        resource.setrlimit(resource.RLIMIT_NOFILE, (nofile, nofile))
                    except (ValueError, OSError):
                        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
                else:
                    resource.setrlimit(resource.RLIMIT_NOFILE, (nofile, nofile))

        env = dict(os.environ)
        env.update(self.extra_env)
        self._err = open(self.stderr_path, "wb")
        self._out = open(self.stdout_path, "wb")
        self.proc = subprocess.Popen(self.command(), stdin=subprocess.DEVNULL, stdout=self._out,
                                     stderr=self._err, preexec_fn=preexec, env=env)
        self.pid = self.proc.pid
        if wait_ready:
            self.wait_ready(timeout)
        return self

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def wait_ready(self, timeout=20.0):
        deadline = time.monotonic() + timeout
        last = None
        while time.monotonic() < deadline:
            if not self.alive():
                raise ProxyExited(f"ringside-proxy exited with {self.proc.returncode} before it was ready;"
                                  f" stderr:\n{self.stderr_text()[-4000:]}")
            try:
                status, body = self.admin("GET", "/ready", timeout=1.0)
                if status == 200 and "LIVE" in body:
                    return
                last = f"{status} {body!r}"
            except OSError as e:
                last = repr(e)
            time.sleep(0.05)
        raise AssertionError(f"ringside-proxy not ready after {timeout}s (last /ready: {last}); stderr:\n"
                             f"{self.stderr_text()[-4000:]}")

    def wait_exit(self, timeout):
        try:
            self.returncode = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            return None
        return self.returncode

    def signal(self, sig):
        if self.alive():
            os.kill(self.proc.pid, sig)

    def stop(self, timeout=None):
        """SIGTERM, wait (drain time + 10 s), return the exit code; SIGKILL and raise if it hangs."""
        if self.proc is None:
            return None
        if timeout is None:
            timeout = (self.drain_time_s or 5) + 10
        if self.alive():
            self.signal(signal.SIGTERM)
        rc = self.wait_exit(timeout)
        if rc is None:
            self.proc.kill()
            self.proc.wait(10)
            self._close_files()
            raise AssertionError(f"ringside-proxy did not exit within {timeout}s of SIGTERM; stderr:\n"
                                 f"{self.stderr_text()[-4000:]}")
        self._close_files()
        return rc

    def kill(self):
        if self.alive():
            self.proc.kill()
            self.proc.wait(10)
        self._close_files()

    def _close_files(self):
        for f in (getattr(self, "_err", None), getattr(self, "_out", None)):
            if f and not f.closed:
                f.close()

    def stderr_text(self):
        try:
            return self.stderr_path.read_text(errors="replace")
        except OSError:
            return ""

    def assert_clean_exit(self, rc):
        """Exit code 0, no signal, no sanitizer report."""
        err = self.stderr_text()
        for marker in SANITIZER_MARKERS:
            assert marker not in err, f"sanitizer report in stderr:\n{err[-6000:]}"
        assert rc is not None and rc >= 0, f"ringside-proxy died from signal {-rc}; stderr:\n{err[-4000:]}"
        assert rc == 0, f"ringside-proxy exited {rc}; stderr:\n{err[-4000:]}"

    def cleanup(self):
        self.kill()
        shutil.rmtree(self.workdir, ignore_errors=True)

    # inspection

    def fd_count(self):
        return len(os.listdir(f"/proc/{self.proc.pid}/fd"))

    def cpu_seconds(self):
        """utime + stime of the process (all threads), in seconds."""
        with open(f"/proc/{self.proc.pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def thread_count(self):
        return len(os.listdir(f"/proc/{self.proc.pid}/task"))

    def status_field(self, field):
        """A /proc/PID/status field in kB (VmRSS, VmHWM, ...)."""
        with open(f"/proc/{self.proc.pid}/status") as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
        return None

    def wait_fds(self, target, timeout=15.0, slack=0):
        """Waits until the fd count is <= target + slack; returns the last count seen."""
        deadline = time.monotonic() + timeout
        n = self.fd_count()
        while time.monotonic() < deadline:
            n = self.fd_count()
            if n <= target + slack:
                return n
            time.sleep(0.1)
        return n

    # talking to it

    def connect(self, port, host="127.0.0.1", timeout=10.0):
        """A TCP connection to `host:port` made from the proxy's namespace."""
        return in_netns(self.netns, socket.create_connection, (host, port), timeout)

    def admin(self, method, path, timeout=10.0, body=None):
        """(status, body text) of one admin request."""
        conn = _NsHTTPConnection(self.admin_host, self.admin_port, self.netns, timeout)
        try:
            conn.request(method, path, body=body)
            resp = conn.getresponse()
            data = resp.read().decode(errors="replace")
            return resp.status, data
        finally:
            conn.close()

    def get(self, path, **kw):
        return self.admin("GET", path, **kw)

    def post(self, path, **kw):
        return self.admin("POST", path, **kw)

    def stats(self, filter=None):
        """All counters and gauges from /stats as {name: int}."""
        path = "/stats" if filter is None else f"/stats?filter={filter}"
        status, body = self.get(path)
        assert status == 200, f"/stats answered {status}: {body[:500]}"
        return parse_stats(body)

    def stat(self, name):
        return self.stats().get(name)

    def wait_stat(self, name, pred, timeout=10.0):
        """Polls /stats until pred(value) holds; returns the value (asserts on timeout)."""
        if not callable(pred):
            want = pred
            pred = lambda v, want=want: v == want  # noqa: E731
        deadline = time.monotonic() + timeout
        value = None
        while time.monotonic() < deadline:
            value = self.stats().get(name)
            if value is not None and pred(value):
                return value
            time.sleep(0.05)
        near = {k: v for k, v in self.stats().items() if name.split(".")[0] in k}
        raise AssertionError(f"stat {name} = {value} did not reach the expected value in {timeout}s;"
                             f" related stats: {json.dumps(near, indent=0)[:3000]}")


class _NsHTTPConnection(http.client.HTTPConnection):
    def __init__(self, host, port, netns, timeout):
        super().__init__(host, port, timeout=timeout)
        self._netns = netns

    def connect(self):
        self.sock = in_netns(self._netns, socket.create_connection, (self.host, self.port), self.timeout)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


_STAT_LINE = re.compile(r"^([A-Za-z0-9_.:\-/]+): (-?\d+)$")


def parse_stats(body):
    out = {}
    for line in body.splitlines():
        m = _STAT_LINE.match(line.strip())
        if m:
            out[m.group(1)] = int(m.group(2))
    return out


def run_proxy_once(config, args=(), timeout=20.0, binary=None):
    """Runs ringside-proxy on a config that is expected to make it exit; returns (rc, stderr)."""
    p = Proxy(config, args=args, concurrency=None, drain_time_s=None, binary=binary)
    try:
        p.start(wait_ready=False)
        rc = p.wait_exit(timeout)
        if rc is None:
            p.kill()
            raise AssertionError(f"ringside-proxy still running {timeout}s after start with this config:\n"
                                 f"{p.config_path.read_text()}\nstderr:\n{p.stderr_text()[-3000:]}")
        p._close_files()
        return rc, p.stderr_text() + p.stdout_path.read_text(errors="replace")
    finally:
        shutil.rmtree(p.workdir, ignore_errors=True)
