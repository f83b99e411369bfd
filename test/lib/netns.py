"""Network namespaces for tests: create, wire with veth pairs, run code inside, always clean up.

Sockets belong to the namespace of the thread that created them, so `in_netns(name, fn)` runs `fn` in
a short-lived thread that has joined the namespace with setns(2); sockets it returns work from any
thread afterwards. Addresses used by tests are only ever configured inside namespaces created here.
"""

import ctypes
import os
import subprocess
import threading

CLONE_NEWNET = 0x40000000
_libc = ctypes.CDLL(None, use_errno=True)


def run(cmd, check=True, ns=None, **kw):
    """Runs a command (optionally inside namespace `ns`), returns CompletedProcess with text output."""
    if ns is not None:
        cmd = ["ip", "netns", "exec", ns] + list(cmd)
    cp = subprocess.run(cmd, capture_output=True, text=True, **kw)
    if check and cp.returncode != 0:
        raise RuntimeError(f"command failed ({cp.returncode}): {' '.join(cmd)}\n{cp.stdout}{cp.stderr}")
    return cp


def in_netns(name, fn, *args, **kwargs):
    """Calls fn(*args, **kwargs) in a thread that joined network namespace `name`; returns its result."""
    if name is None:
        return fn(*args, **kwargs)
    box = {}

    def body():
        try:
            fd = os.open(f"/run/netns/{name}", os.O_RDONLY)
            try:
                if _libc.setns(fd, CLONE_NEWNET) != 0:
                    err = ctypes.get_errno()
                    raise OSError(err, f"setns({name}): {os.strerror(err)}")
            finally:
                os.close(fd)
            box["result"] = fn(*args, **kwargs)
        except BaseException as e:  # re-raised in the caller's thread
            box["error"] = e

    t = threading.Thread(target=body, name=f"netns-{name}")
    t.start()
    t.join()
    if "error" in box:
        raise box["error"]
    return box.get("result")


class Topology:
    """A set of namespaces and veth links that are torn down on close(), even after a failure.

    Usage:
        with Topology() as topo:
            pod = topo.add_ns("rs-pod-123")
            topo.link(pod, "10.255.1.1/30", srv, "10.255.1.2/30")
    """

    def __init__(self):
        self.namespaces = []
        self._links = 0

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False

    def add_ns(self, name):
        # A leftover from an interrupted earlier run with the same name is removed first.
        run(["ip", "netns", "del", name], check=False)
        run(["ip", "netns", "add", name])
        self.namespaces.append(name)
        run(["ip", "link", "set", "lo", "up"], ns=name)
        return name

    def link(self, ns_a, cidr_a, ns_b, cidr_b, ifname_a=None, ifname_b=None):
        """Joins two namespaces with a veth pair, each end addressed inside its own namespace."""
        self._links += 1
        ifname_a = ifname_a or f"rs{os.getpid() % 100000}l{self._links}a"
        ifname_b = ifname_b or f"rs{os.getpid() % 100000}l{self._links}b"
        # Create the pair directly inside the two namespaces: no address ever appears in the root ns.
        run(["ip", "link", "add", ifname_a, "netns", ns_a, "type", "veth", "peer", "name", ifname_b, "netns", ns_b])
        run(["ip", "addr", "add", cidr_a, "dev", ifname_a], ns=ns_a)
        run(["ip", "addr", "add", cidr_b, "dev", ifname_b], ns=ns_b)
        run(["ip", "link", "set", ifname_a, "up"], ns=ns_a)
        run(["ip", "link", "set", ifname_b, "up"], ns=ns_b)
        return ifname_a, ifname_b

    def close(self):
        errors = []
        for name in reversed(self.namespaces):
            # Processes left in a namespace keep it alive: kill those first (only ones inside it).
            cp = run(["ip", "netns", "pids", name], check=False)
            for pid in cp.stdout.split():
                try:
                    os.kill(int(pid), 9)
                except (ProcessLookupError, ValueError):
                    pass
            cp = run(["ip", "netns", "del", name], check=False)
            if cp.returncode != 0:
                errors.append(f"{name}: {cp.stderr.strip()}")
        self.namespaces = []
        if errors:
            raise RuntimeError("could not delete namespaces: " + "; ".join(errors))


STALE_PATTERN = r"^rs-(pod|srv|cli|bh|init|ipod|isrv)-(\d+)$"


def remove_stale():
    """Deletes test namespaces left by a run that was killed (their creator's pid no longer exists)."""
    import re
    cp = run(["ip", "netns", "list"], check=False)
    for line in cp.stdout.splitlines():
        name = line.split()[0] if line.split() else ""
        m = re.match(STALE_PATTERN, name)
        if m and not os.path.exists(f"/proc/{m.group(2)}"):
            run(["ip", "netns", "del", name], check=False)
