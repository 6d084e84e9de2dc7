"""A real on-premises Active Directory for tests: a Samba AD DC, provisioned once, copied and started per session.

Provisioning takes about 5 s, so it happens once into a template under ``.tmp/samba-template/<key>`` (the key names
this file's TEMPLATE_VERSION and the installed Samba version); each test session copies the template (tens of ms),
writes its own smb.conf and TLS files and starts ``samba -i`` on a loopback address of its own, because Samba's LDAP
ports cannot be moved. Every path Samba uses points inside the instance directory, so nothing is written elsewhere.

``samba -i`` exits when its stdin closes; the pipe's writing end lives in the test process, so even a killed test
run leaves no domain controller behind. stop() still ends it by pid and removes the loopback address.

Samba must run as root (privileged ports, ``ip addr add``); when it is missing it is installed with apt-get.
"""

from __future__ import annotations

import fcntl
import os
import re
import shutil
import signal
import socket
import ssl
import stat
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import ldap3
import trustme
from ldap3.core.exceptions import LDAPException
from ldap3.utils.dn import parse_dn

ROOT = Path(__file__).resolve().parents[2]
CACHE = ROOT / ".tmp" / "samba-template"
# Bump when the provisioning or the seed data below changes: the next run provisions a new template.
TEMPLATE_VERSION = "1"
PACKAGES = ("samba", "samba-dsdb-modules", "samba-vfs-modules", "samba-ad-provision", "iproute2")

REALM = "CORP.CONTOSO.TEST"
NETBIOS_DOMAIN = "CORP"
HOST_NAME = "dc1"
BASE_DN = "DC=corp,DC=contoso,DC=test"
ADMIN_PASSWORD = "Corp-Adm1n!Contoso"
# The OU AD Connect's filtering would be scoped to, with the story's two OUs inside.
SYNC_OU = f"OU=Entra,{BASE_DN}"
LICENSING_OU = f"OU=Licensing,{SYNC_OU}"
USERS_OU = f"OU=Users,{SYNC_OU}"
UPN_SUFFIX = "contoso.com"
USER_PASSWORD = "Joiner-Passw0rd!"
USERS = (
    {"sAMAccountName": "BenW", "givenName": "Ben", "sn": "Walters", "department": "Sales"},
    {"sAMAccountName": "ChristieC", "givenName": "Christie", "sn": "Cline", "department": "Finance"},
    {"sAMAccountName": "EnricoC", "givenName": "Enrico", "sn": "Cattaneo", "department": "IT"},
    {"sAMAccountName": "IrvinS", "givenName": "Irvin", "sn": "Sayers", "department": "Operations"},
)
# First loopback address tried; pytest-xdist worker gwN starts at FIRST_HOST + N and moves on while taken.
FIRST_HOST = 20
# Runtime files of a stopped instance that a copy must not take along; sockets (ldapi, msg.sock) cannot be copied at all.
_RUNTIME = frozenset(("msg.sock", "msg.lock", "run", "tls", "log", "samba.out", "names.tdb"))


def ensure_samba_installed() -> None:
    """Install the Debian packages provisioning needs when one is missing (as root; otherwise fail saying what to do)."""
    missing = [package for package in PACKAGES if subprocess.run(["dpkg", "-s", package], capture_output=True, check=False).returncode]
    if not missing:
        return
    if os.geteuid() != 0:
        raise RuntimeError(f"Samba AD DC tests need the Debian packages {' '.join(missing)}; run the tests as root or install them")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    _run(["apt-get", "update", "-qq"], env=env)
    _run(["apt-get", "install", "-y", "-qq", "--no-install-recommends", *missing], env=env)


def _run(command: list[str], env: dict[str, str] | None = None) -> None:
    """Run a setup command; a failure shows its output rather than only its exit status."""
    completed = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    if completed.returncode:
        raise RuntimeError(f"{' '.join(command[:3])} failed with {completed.returncode}:\n{completed.stdout[-2000:]}{completed.stderr[-2000:]}")


def user_entries() -> list[dict[str, str]]:
    """The seeded users with every attribute they carry (what a test can expect to read back)."""
    users = []
    for user in USERS:
        sam = user["sAMAccountName"]
        display = f"{user['givenName']} {user['sn']}"
        users.append(
            {
                **user,
                "displayName": display,
                "userPrincipalName": f"{sam}@{UPN_SUFFIX}",
                "mail": f"{sam}@{UPN_SUFFIX}",
                "dn": f"CN={display},{USERS_OU}",
            }
        )
    return users


@dataclass
class SambaDC:
    """A running domain controller and what a test needs to reach it."""

    directory: Path
    ip: str
    ca_file: Path
    process: subprocess.Popen
    _stdin: IO[bytes]
    _ip_lock: IO[str]
    users: list[dict[str, str]] = field(default_factory=user_entries)

    realm = REALM
    base_dn = BASE_DN
    sync_ou = SYNC_OU
    licensing_ou = LICENSING_OU
    users_ou = USERS_OU
    admin_dn = f"CN=Administrator,CN=Users,{BASE_DN}"
    admin_upn = f"Administrator@{REALM}"
    admin_password = ADMIN_PASSWORD

    @property
    def env(self) -> dict[str, str]:
        """Environment variables that point the collection's LDAP modules at this DC (LDAPS, verified, Administrator)."""
        return {
            "AD_LDAP_SERVER": self.ip,
            "AD_BIND_DN": self.admin_upn,
            "AD_BIND_PASSWORD": self.admin_password,
            "AD_CA_BUNDLE": str(self.ca_file),
        }

    def connect(self, encryption: str = "ldaps") -> ldap3.Connection:
        """An admin connection with the certificate verified: the tests' independent view of the directory."""
        tls = ldap3.Tls(validate=ssl.CERT_REQUIRED, ca_certs_file=str(self.ca_file))
        port = 636 if encryption == "ldaps" else 389
        server = ldap3.Server(self.ip, port=port, use_ssl=encryption == "ldaps", tls=tls, get_info=ldap3.NONE, connect_timeout=5)
        connection = ldap3.Connection(server, user=self.admin_dn, password=self.admin_password, auto_referrals=False, raise_exceptions=True)
        connection.open()
        if encryption == "start_tls":
            connection.start_tls()
        connection.bind()
        return connection

    def highest_usn(self) -> int:
        """rootDSE highestCommittedUSN: it moves with every write, so equal values before and after mean no write."""
        connection = self.connect()
        try:
            connection.search("", "(objectClass=*)", ldap3.BASE, attributes=["highestCommittedUSN"])
            return int(connection.response[0]["attributes"]["highestCommittedUSN"][0])
        finally:
            connection.unbind()

    def find(self, ldap_filter: str, attributes: list[str] | None = None, base: str = BASE_DN) -> list[dict[str, Any]]:
        """Entries under ``base`` matching a filter the test wrote (values already escaped)."""
        connection = self.connect()
        try:
            connection.search(base, ldap_filter, ldap3.SUBTREE, attributes=attributes or ["*"])
            return [entry for entry in connection.response if entry["type"] == "searchResEntry"]
        finally:
            connection.unbind()

    def delete_created_since(self, usn: int) -> None:
        """Delete every object created after ``usn``, children first: what a test made goes, the template stays."""
        connection = self.connect()
        try:
            connection.search(BASE_DN, f"(uSNCreated>={usn + 1})", ldap3.SUBTREE, attributes=["uSNCreated"])
            dns = [entry["dn"] for entry in connection.response if entry["type"] == "searchResEntry"]
            for dn in sorted(dns, key=lambda name: len(parse_dn(name)), reverse=True):
                connection.delete(dn)
        finally:
            connection.unbind()

    def stop(self) -> None:
        """End the DC by pid, remove its loopback address, free the address for the next session."""
        if self.process.poll() is None:
            os.kill(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.kill(self.process.pid, signal.SIGKILL)
                self.process.wait()
        self._stdin.close()
        subprocess.run(["ip", "addr", "del", f"{self.ip}/8", "dev", "lo"], capture_output=True, check=False)
        self._ip_lock.close()


def samba_version() -> str:
    return subprocess.run(["samba", "--version"], capture_output=True, text=True, check=True).stdout.strip()


def template(worker: int = 0) -> Path:
    """The provisioned and seeded template, made on first use; concurrent sessions wait for the one that makes it."""
    ensure_samba_installed()
    key = re.sub(r"[^A-Za-z0-9.+-]", "_", f"v{TEMPLATE_VERSION}-{samba_version()}")
    target = CACHE / key
    CACHE.mkdir(parents=True, exist_ok=True)
    with (CACHE / ".lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (target / "READY").exists():
            _provision(target, worker)
    return target


def _provision(target: Path, worker: int) -> None:
    work = target.with_name(target.name + ".partial")
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    options = [f"--option={name}={value}" for name, value in _path_options(work).items()]
    _run(
        [
            "samba-tool", "domain", "provision", f"--targetdir={work}", f"--realm={REALM}", f"--domain={NETBIOS_DOMAIN}",
            "--server-role=dc", "--dns-backend=NONE", f"--adminpass={ADMIN_PASSWORD}", f"--host-name={HOST_NAME}",
            "--option=server services = ldap, cldap, kdc", *options,
        ]
    )  # fmt: skip
    # The Administrator password would expire after 42 days (maxPwdAge), long before the template is rebuilt.
    _run(["samba-tool", "user", "setexpiry", "Administrator", "--noexpiry", f"--configfile={work / 'etc' / 'smb.conf'}", f"-H{work / 'private' / 'sam.ldb'}"])
    dc = start(work, worker)
    try:
        _seed(dc.connect())
    finally:
        dc.stop()
    (work / "READY").write_text(TEMPLATE_VERSION + "\n")
    shutil.rmtree(target, ignore_errors=True)
    work.rename(target)


def _seed(connection: ldap3.Connection) -> None:
    for ou in (SYNC_OU, LICENSING_OU, USERS_OU):
        connection.add(ou, ["top", "organizationalUnit"])
    password = f'"{USER_PASSWORD}"'.encode("utf-16-le")
    for user in user_entries():
        attributes = {key: value for key, value in user.items() if key != "dn"}
        attributes.update({"unicodePwd": password, "userAccountControl": 512})
        connection.add(user["dn"], ["top", "person", "organizationalPerson", "user"], attributes)
    connection.unbind()


def _path_options(directory: Path) -> dict[str, str]:
    """Every smb.conf path option, inside ``directory``: Samba's defaults point at /var and /run."""
    return {
        "private dir": str(directory / "private"),
        "state directory": str(directory / "state"),
        "cache directory": str(directory / "cache"),
        "lock directory": str(directory),
        "pid directory": str(directory / "run"),
        "ncalrpc dir": str(directory / "ncalrpc"),
        "ntp signd socket directory": str(directory / "ntp_signd"),
        "winbindd socket directory": str(directory / "winbindd"),
        "binddns dir": str(directory / "bind-dns"),
        "log file": str(directory / "log" / "log.%m"),
    }


def _write_config(directory: Path, ip: str) -> Path:
    """smb.conf for this copy and a fresh CA with a certificate naming the DC's address and host name."""
    ca = trustme.CA()
    leaf = ca.issue_cert(ip, f"{HOST_NAME}.{REALM.lower()}")
    tls = directory / "tls"
    tls.mkdir(exist_ok=True)
    ca.cert_pem.write_to_path(str(tls / "ca.pem"))
    leaf.private_key_pem.write_to_path(str(tls / "key.pem"))
    leaf.cert_chain_pems[0].write_to_path(str(tls / "cert.pem"))
    (tls / "key.pem").chmod(0o600)
    settings = {
        "netbios name": HOST_NAME.upper(),
        "workgroup": NETBIOS_DOMAIN,
        "realm": REALM,
        "server role": "active directory domain controller",
        "server services": "ldap, cldap, kdc",
        "interfaces": ip,
        "bind interfaces only": "yes",
        "logging": "file",
        "tls enabled": "yes",
        "tls keyfile": str(tls / "key.pem"),
        "tls certfile": str(tls / "cert.pem"),
        "tls cafile": str(tls / "ca.pem"),
        **_path_options(directory),
    }
    for option in ("run", "log", "ncalrpc", "ntp_signd", "winbindd", "cache", "state", "bind-dns"):
        (directory / option).mkdir(exist_ok=True)
    config = directory / "etc" / "smb.conf"
    config.write_text("[global]\n" + "".join(f"\t{name} = {value}\n" for name, value in settings.items()))
    return tls / "ca.pem"


def _claim_address(worker: int) -> tuple[str, IO[str]]:
    """A loopback address no other session uses: an flock per address, then nothing may answer on its LDAP port."""
    locks = CACHE / "addresses"
    locks.mkdir(parents=True, exist_ok=True)
    for host in range(FIRST_HOST + worker, 255):
        ip = f"127.0.0.{host}"
        lock = (locks / f"{ip}.lock").open("w")
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            lock.close()
            continue
        with socket.socket() as probe:
            if probe.connect_ex((ip, 389)) == 0:
                lock.close()
                continue
        # "File exists": an address a killed session of ours left behind (we hold its lock); adopt it and remove it at the end.
        added = subprocess.run(["ip", "addr", "add", f"{ip}/8", "dev", "lo"], capture_output=True, text=True, check=False)
        if added.returncode and "File exists" not in added.stderr:
            lock.close()
            raise RuntimeError(f"cannot add {ip} to the loopback interface: {added.stderr.strip()}")
        return ip, lock
    raise RuntimeError("no free loopback address for a Samba DC in 127.0.0.20-254")


def start(directory: Path, worker: int = 0, timeout: float = 60) -> SambaDC:
    """Start ``samba -i`` on ``directory`` (a provisioned DC) and return once an LDAPS bind as Administrator works."""
    ip, lock = _claim_address(worker)
    ca_file = _write_config(directory, ip)
    stdin_read, stdin_write = os.pipe()
    with (directory / "samba.out").open("wb") as output:
        process = subprocess.Popen(["samba", "-i", "-s", str(directory / "etc" / "smb.conf")], stdin=stdin_read, stdout=output, stderr=subprocess.STDOUT)
    os.close(stdin_read)
    dc = SambaDC(directory, ip, ca_file, process, os.fdopen(stdin_write, "wb"), lock)
    try:
        _wait_until_ready(dc, timeout)
    except BaseException:
        dc.stop()  # whatever went wrong (even KeyboardInterrupt): no DC, no address left behind
        raise
    return dc


def _wait_until_ready(dc: SambaDC, timeout: float) -> None:
    """Until an LDAPS bind works: while Samba starts, connections are refused, reset or cut mid-handshake."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            dc.connect().unbind()
            return
        except (LDAPException, OSError) as exc:
            if dc.process.poll() is not None or time.monotonic() > deadline:
                log = (dc.directory / "samba.out").read_text(errors="replace")[-2000:]
                raise RuntimeError(f"Samba DC on {dc.ip} did not answer LDAPS ({exc!r}); samba -i output:\n{log}") from exc
            time.sleep(0.05)


def _runtime_files(directory: str, names: list[str]) -> set[str]:
    return {name for name in names if name in _RUNTIME or stat.S_ISSOCK(os.lstat(os.path.join(directory, name)).st_mode)}


def start_copy(workdir: Path, worker: int = 0) -> SambaDC:
    """A private copy of the template, started: what one test session uses."""
    source = template(worker)
    target = workdir / "dc"
    shutil.copytree(source, target, symlinks=True, ignore=_runtime_files)
    return start(target, worker)
