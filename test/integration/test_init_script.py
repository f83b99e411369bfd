"""deploy/init/ringside-iptables.sh on its own (no proxy): flags, generated rules, idempotence, clean-up,
and what it actually redirects, with plain listeners standing in for the proxy's 15001 and 15006."""

import os
import socket
import struct
import subprocess

import pytest

import backends
import ringside
from netns import Topology, in_netns, run
from tcpclient import recv_line

SCRIPT = str(ringside.REPO / "deploy" / "init" / "ringside-iptables.sh")
SO_ORIGINAL_DST = 80
root_only = pytest.mark.skipif(os.geteuid() != 0, reason="needs root: network namespaces and iptables")


def script(*args, ns=None):
    return run(["sh", SCRIPT] + list(args), ns=ns, check=False)


def test_help_documents_every_flag():
    cp = script("--help")
    assert cp.returncode == 0
    for flag in ["--outbound-port", "--inbound-port", "--proxy-uid", "--proxy-gid", "--inbound-ports-include",
                 "--inbound-ports-exclude", "--outbound-cidrs-include", "--outbound-cidrs-exclude",
                 "--outbound-ports-exclude", "--ipv6", "--iptables", "--dry-run", "--clean"]:
        assert flag in cp.stdout, f"{flag} missing from --help"


def test_dry_run_rules():
    cp = script("--dry-run", "-u", "1500", "-g", "1600", "-x", "10.96.0.0/12,192.168.0.0/16", "-o", "3306",
                "-d", "22", "-b", "80,443", "-p", "15101", "-z", "15106")
    assert cp.returncode == 0, cp.stderr
    rules = cp.stdout.splitlines()
    for want in [
        "-A PREROUTING -p tcp -j RINGSIDE_INBOUND",
        "-A OUTPUT -p tcp -j RINGSIDE_OUTPUT",
        "-A RINGSIDE_INBOUND -p tcp --dport 15090 -j RETURN",
        "-A RINGSIDE_INBOUND -p tcp --dport 15021 -j RETURN",
        "-A RINGSIDE_INBOUND -p tcp --dport 15000 -j RETURN",
        "-A RINGSIDE_INBOUND -p tcp --dport 22 -j RETURN",
        "-A RINGSIDE_INBOUND -p tcp --dport 80 -j RINGSIDE_IN_REDIRECT",
        "-A RINGSIDE_INBOUND -p tcp --dport 443 -j RINGSIDE_IN_REDIRECT",
        "-A RINGSIDE_IN_REDIRECT -p tcp -j REDIRECT --to-ports 15106",
        "-A RINGSIDE_OUTPUT -m owner --uid-owner 1500 -j RETURN",
        "-A RINGSIDE_OUTPUT -m owner --gid-owner 1600 -j RETURN",
        "-A RINGSIDE_OUTPUT -d 127.0.0.1/32 -j RETURN",
        "-A RINGSIDE_OUTPUT -p tcp --dport 3306 -j RETURN",
        "-A RINGSIDE_OUTPUT -d 10.96.0.0/12 -j RETURN",
        "-A RINGSIDE_OUTPUT -d 192.168.0.0/16 -j RETURN",
        "-A RINGSIDE_OUTPUT -j RINGSIDE_REDIRECT",
        "-A RINGSIDE_REDIRECT -p tcp -j REDIRECT --to-ports 15101",
    ]:
        assert want in rules, f"{want!r} not in the dry-run output:\n{cp.stdout}"
    # Exclusions come before the catch-all redirect.
    assert rules.index("-A RINGSIDE_OUTPUT -m owner --uid-owner 1500 -j RETURN") < \
        rules.index("-A RINGSIDE_OUTPUT -j RINGSIDE_REDIRECT")
    assert not any("--dport 15090 -j RINGSIDE_IN_REDIRECT" in r for r in rules)


@pytest.mark.parametrize("args", [["-p", "70000"], ["-z", "0"], ["-x", "300.0.0.0/8"], ["-x", "10.0.0.0/40"],
                                  ["-u", "abc"], ["--bogus"], ["-p"], ["-b", "80,x"]],
                         ids=lambda a: " ".join(a))
def test_bad_arguments_exit_2(args):
    cp = script("--dry-run", *args)
    assert cp.returncode == 2, (cp.returncode, cp.stdout, cp.stderr)
    assert cp.stderr.strip(), "no error message"


@root_only
def test_apply_is_idempotent_and_clean_removes_everything():
    with Topology() as topo:
        ns = topo.add_ns(f"rs-init-{os.getpid()}")
        for _ in range(3):
            cp = script("--ipv6", ns=ns)
            assert cp.returncode == 0, cp.stderr
        for tool in ("iptables-save", "ip6tables-save"):
            saved = run([tool, "-t", "nat"], ns=ns).stdout
            assert saved.count("-A PREROUTING -p tcp -j RINGSIDE_INBOUND") == 1, saved
            assert saved.count("-A OUTPUT -p tcp -j RINGSIDE_OUTPUT") == 1, saved
            assert saved.count("REDIRECT --to-ports 15001") == 1, saved
        for _ in range(2):
            cp = script("--clean", "--ipv6", ns=ns)
            assert cp.returncode == 0, cp.stderr
        for tool in ("iptables-save", "ip6tables-save"):
            assert "RINGSIDE" not in run([tool, "-t", "nat"], ns=ns).stdout


def _listener(ns, host, port):
    s = in_netns(ns, socket.create_server, (host, port))
    s.settimeout(5)
    return s


def _original_dst(conn):
    raw = conn.getsockopt(socket.SOL_IP, SO_ORIGINAL_DST, 16)
    port = struct.unpack("!H", raw[2:4])[0]
    return f"{socket.inet_ntoa(raw[4:8])}:{port}"


@root_only
def test_redirects_with_stand_in_listeners():
    pid = os.getpid()
    n = pid % 250 + 1
    pod_ip, srv_ip = f"10.254.{n}.1", f"10.254.{n}.2"
    with Topology() as topo:
        pod = topo.add_ns(f"rs-ipod-{pid}")
        srv = topo.add_ns(f"rs-isrv-{pid}")
        topo.link(pod, f"{pod_ip}/30", srv, f"{srv_ip}/30")
        server = backends.Backend(backends.peer_echo, name="server", host=srv_ip, port=9000, netns=srv)
        local = backends.Backend(backends.peer_echo, name="local", host="127.0.0.1", port=7000, netns=pod)
        outbound = _listener(pod, "0.0.0.0", 15001)
        inbound = _listener(pod, "0.0.0.0", 15006)
        try:
            cp = script(ns=pod)
            assert cp.returncode == 0, cp.stderr

            # The app's outbound connection lands on 15001, which can recover the original destination.
            c = in_netns(pod, socket.create_connection, (srv_ip, 9000), 5)
            conn, _ = outbound.accept()
            assert _original_dst(conn) == f"{srv_ip}:9000"
            conn.close()
            c.close()
            assert server.accepted == 0

            # The proxy's uid is not captured: it reaches the server directly.
            code = ("import socket; s = socket.create_connection(('%s', 9000), 5); "
                    "print(s.recv(200).decode().strip(), s.getsockname()[1])" % srv_ip)
            cp = run(["ip", "netns", "exec", pod, "setpriv", "--reuid=1337", "--regid=1337", "--clear-groups",
                      "/usr/bin/python3", "-c", code], check=False, timeout=20)
            assert cp.returncode == 0, cp.stderr
            greeting, local_port = cp.stdout.rsplit(" ", 1)
            assert f"peer={pod_ip}:{local_port.strip()}" in greeting, cp.stdout
            assert server.accepted == 1

            # Loopback inside the pod is not captured.
            c = in_netns(pod, socket.create_connection, ("127.0.0.1", 7000), 5)
            c.settimeout(5)
            assert recv_line(c).decode().startswith(f"peer=127.0.0.1:{c.getsockname()[1]} ")
            c.close()

            # Inbound: a connection to the pod lands on 15006 with its original destination.
            c = in_netns(srv, socket.create_connection, (pod_ip, 8080), 5)
            conn, _ = inbound.accept()
            assert _original_dst(conn) == f"{pod_ip}:8080"
            conn.close()
            c.close()

            # Excluded inbound port (15021): not redirected, and nothing listens there.
            with pytest.raises(ConnectionRefusedError):
                in_netns(srv, socket.create_connection, (pod_ip, 15021), 5)

            # Re-applied with the server's address excluded: the app now reaches it directly.
            cp = script("--outbound-cidrs-exclude", f"{srv_ip}/32", ns=pod)
            assert cp.returncode == 0, cp.stderr
            c = in_netns(pod, socket.create_connection, (srv_ip, 9000), 5)
            c.settimeout(5)
            assert recv_line(c).decode().startswith(f"peer={pod_ip}:{c.getsockname()[1]} ")
            c.close()
            assert server.accepted == 2
        finally:
            for s in (outbound, inbound):
                s.close()
            server.close()
            local.close()


def test_script_is_posix_sh():
    # The init container may have only a POSIX shell.
    cp = subprocess.run(["sh", "-n", SCRIPT], capture_output=True, text=True)
    assert cp.returncode == 0, cp.stderr
