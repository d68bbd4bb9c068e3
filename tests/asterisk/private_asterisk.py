"""Start a private, throw-away Asterisk for tests: its own config, ports and files.

Everything lives in one temporary directory: a generated asterisk.conf points every
Asterisk directory there, the project's asterisk-config/ files are copied in, and
manager.conf is rewritten to listen on a free loopback port with a test secret. Nothing
binds 0.0.0.0 (no IAX2, no PJSIP/SIP, no HTTP), so it runs next to a real PBX.

Used by tests/asterisk/conftest.py (fixture `real_asterisk`), and reusable by other
tests: `with start_private_asterisk(workdir) as pbx: ...`.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[2]
CONFIG_DIR = REPO_ROOT / "asterisk-config"

# Files copied from asterisk-config/ as they are (manager.conf and queues.conf are
# adjusted below). pjsip.conf.sample is not: the private Asterisk has no SIP stack.
COPIED_FILES = ("extensions.conf", "musiconhold.conf", "amd.conf", "indications.conf")

AMI_USERNAME = "dialer"
AMI_TEST_SECRET = "test-dialer-secret"
# An extra AMI user with every permission, for test plumbing only (e.g. comparing what
# the dialer user receives with everything Asterisk sends). Not in asterisk-config/.
ADMIN_USERNAME = "test-admin"
ADMIN_SECRET = "test-admin-secret"

# A queue with no members, for the queue-timeout case: a lead waits in it until the
# timeout given to Queue(). Test only, appended to the copied queues.conf.
EMPTY_QUEUE = "dialer-test-empty"

# Dial string of the trunk-less test callees (see asterisk-config/extensions.conf).
TEST_DIAL_STRING = "Local/{number}@dialer-test-callees"

# Modules that would open listening sockets (or need a server we do not run): the
# private Asterisk must not collide with a real PBX or be reachable from outside.
NOLOAD_MODULES = (
    "chan_iax2.so",  # binds 0.0.0.0:4569
    "pbx_dundi.so",  # binds 0.0.0.0:4520
    "chan_unistim.so",
    "chan_mgcp.so",
    "chan_skinny.so",
    "chan_sip.so",
    "chan_pjsip.so",
    "res_pjsip.so",
    "chan_audiosocket.so",
    "res_audiosocket.so",
    "app_audiosocket.so",
    "chan_rtp.so",
    "chan_websocket.so",
    "res_websocket_client.so",
    "res_pktccops.so",
    "res_phoneprov.so",
    "res_hep.so",
    "res_hep_rtcp.so",
    "res_statsd.so",
    "res_prometheus.so",
    "res_smdi.so",
    "res_adsi.so",
    "app_adsiprog.so",
    "app_getcpeid.so",
    "res_aeap.so",
    "res_speech_aeap.so",
    "res_config_pgsql.so",
    "cdr_pgsql.so",
    "cel_pgsql.so",
    "cdr_radius.so",
    "cel_radius.so",
    "res_calendar.so",
    "res_xmpp.so",
    "chan_motif.so",
)


class AsteriskStartError(RuntimeError):
    """The private Asterisk did not come up; the message carries its log tail."""


def find_modules_dir(binary: Path) -> Path:
    """Where the loadable modules of this asterisk binary live.

    $ASTERISK_MODULES_DIR wins. Otherwise <prefix>/lib/asterisk/modules next to the
    binary's sbin/ (a source install), then the lib64 and Debian multiarch layouts.
    """
    override = os.environ.get("ASTERISK_MODULES_DIR")
    if override:
        path = Path(override)
        if not (path / "app_queue.so").exists():
            raise AsteriskStartError(f"ASTERISK_MODULES_DIR={override} has no app_queue.so")
        return path
    prefix = binary.resolve().parent.parent
    candidates = [
        prefix / "lib" / "asterisk" / "modules",
        prefix / "lib64" / "asterisk" / "modules",
        *sorted(prefix.glob("lib/*/asterisk/modules")),
    ]
    for path in candidates:
        if (path / "app_queue.so").exists():
            return path
    tried = ", ".join(str(p) for p in candidates)
    raise AsteriskStartError(
        f"no Asterisk modules found for {binary} (tried {tried}); "
        "set ASTERISK_MODULES_DIR to the directory holding app_queue.so"
    )


def _first_existing(*paths: Path) -> Path | None:
    return next((p for p in paths if p.is_dir()), None)


def free_loopback_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _replace_setting(text: str, section: str, key: str, value: str) -> str:
    """Set `key = value` inside [section] of an Asterisk .conf text; fail if absent."""
    lines = text.splitlines(keepends=True)
    current = None
    key_re = re.compile(rf"^\s*{re.escape(key)}\s*=")
    for i, line in enumerate(lines):
        header = re.match(r"^\[([^\]]+)\]", line)
        if header:
            current = header.group(1)
        elif current == section and key_re.match(line):
            lines[i] = f"{key} = {value}\n"
            return "".join(lines)
    raise AsteriskStartError(f"no `{key} =` line in [{section}]")


@dataclass
class RealAsterisk:
    """A running private Asterisk. host/port/username/secret are the dialer's AMI login."""

    binary: Path
    tmpdir: Path
    host: str
    port: int
    username: str = AMI_USERNAME
    secret: str = AMI_TEST_SECRET
    admin_username: str = ADMIN_USERNAME
    admin_secret: str = ADMIN_SECRET
    process: subprocess.Popen[bytes] | None = field(default=None, repr=False)

    @property
    def config_file(self) -> Path:
        return self.tmpdir / "asterisk.conf"

    @property
    def log_file(self) -> Path:
        return self.tmpdir / "log" / "messages.log"

    def ami_settings(self) -> dict[str, Any]:
        """The `ami:` section of a campaign file that reaches this Asterisk."""
        return {
            "host": self.host,
            "port": self.port,
            "username": self.username,
            "secret": self.secret,
        }

    def cli(self, command: str, timeout: float = 10.0) -> str:
        """Run one CLI command through the control socket (`asterisk -rx`)."""
        result = subprocess.run(
            [str(self.binary), "-C", str(self.config_file), "-rx", command],
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        return result.stdout + result.stderr

    def log_tail(self, lines: int = 40) -> str:
        chunks = []
        for path in (self.log_file, self.tmpdir / "asterisk.out"):
            if path.exists():
                text = path.read_text(errors="replace").splitlines()[-lines:]
                chunks.append(f"--- {path} ---\n" + "\n".join(text))
        return "\n".join(chunks)

    def stop(self, timeout: float = 10.0) -> None:
        """`core stop now`, then SIGTERM/SIGKILL if Asterisk does not exit in time."""
        proc = self.process
        if proc is None or proc.poll() is not None:
            return
        with contextlib.suppress(subprocess.TimeoutExpired, OSError):
            self.cli("core stop now", timeout=timeout)
        for sig in (None, signal.SIGTERM, signal.SIGKILL):
            if sig is not None:
                with contextlib.suppress(ProcessLookupError):
                    proc.send_signal(sig)
            try:
                proc.wait(timeout=timeout)
                return
            except subprocess.TimeoutExpired:
                continue


@dataclass(frozen=True)
class ExtraConfig:
    """Test-only additions to the private Asterisk's configuration.

    appends: {file name in etc/: text appended to it} (e.g. extra dialplan contexts);
    dialer: settings that replace those of the [dialer] AMI user (secret, read, write);
    drop_eventfilters: remove the dialer user's eventfilter lines (it gets every event);
    queues_general: settings that replace those of queues.conf [general] (autofill...);
    load: modules of NOLOAD_MODULES this test needs after all (e.g. app_audiosocket.so).
    """

    appends: dict[str, str] = field(default_factory=dict)
    dialer: dict[str, str] = field(default_factory=dict)
    queues_general: dict[str, str] = field(default_factory=dict)
    drop_eventfilters: bool = False
    load: tuple[str, ...] = ()


def write_config(binary: Path, tmpdir: Path, port: int, extra: ExtraConfig | None = None) -> None:
    """Lay out the private Asterisk's directories and configuration under tmpdir."""
    extra = extra or ExtraConfig()
    etc = tmpdir / "etc"
    for sub in (
        "etc",
        "lib",
        "db",
        "keys/keys",
        "data/sounds",
        "agi-bin",
        "spool",
        "run",
        "log",
        "cache",
    ):
        (tmpdir / sub).mkdir(parents=True, exist_ok=True)
    modules = find_modules_dir(binary)
    prefix = binary.resolve().parent.parent

    # No "(!)" after [directories]: that marks a template and hides the section.
    (tmpdir / "asterisk.conf").write_text(
        "[directories]\n"
        f"astetcdir => {etc}\n"
        f"astmoddir => {modules}\n"
        f"astvarlibdir => {tmpdir / 'lib'}\n"
        f"astdbdir => {tmpdir / 'db'}\n"
        f"astkeydir => {tmpdir / 'keys'}\n"
        f"astdatadir => {tmpdir / 'data'}\n"
        f"astagidir => {tmpdir / 'agi-bin'}\n"
        f"astspooldir => {tmpdir / 'spool'}\n"
        f"astrundir => {tmpdir / 'run'}\n"
        f"astlogdir => {tmpdir / 'log'}\n"
        f"astcachedir => {tmpdir / 'cache'}\n"
        f"astsbindir => {binary.resolve().parent}\n"
        "\n[options]\n"
        "verbose = 3\n"
        "nocolor = yes\n"
        "defaultlanguage = en\n"
    )

    # Sounds: <astdatadir>/sounds/en/beep.gsm etc. The tests rely on real prompt
    # lengths (beep 0.4 s, hello-world 1.4 s, demo-instruct 73 s), so they are required.
    override = os.environ.get("ASTERISK_SOUNDS_DIR")
    sound_dirs = (
        [Path(override)]
        if override
        else [
            Path("/usr/share/asterisk/sounds/en_US_f_Allison"),  # Debian asterisk-core-sounds-en-*
            Path("/usr/share/asterisk/sounds/en"),
            prefix / "var/lib/asterisk/sounds/en",
            Path("/var/lib/asterisk/sounds/en"),
        ]
    )
    sounds = next((d for d in sound_dirs if any(d.glob("hello-world.*"))), None)
    if sounds is None:
        raise AsteriskStartError(
            "no Asterisk sound files (hello-world.*) in "
            + ", ".join(str(d) for d in sound_dirs)
            + "; install asterisk-core-sounds-en-gsm or set ASTERISK_SOUNDS_DIR"
        )
    _link(tmpdir / "data/sounds/en", sounds)
    # Hold music is optional: without it the queue is silent, nothing else changes.
    moh = _first_existing(
        Path("/usr/share/asterisk/moh"),
        prefix / "var/lib/asterisk/moh",
        Path("/var/lib/asterisk/moh"),
    )
    if moh is not None:
        _link(tmpdir / "data/moh", moh)
    docs = _first_existing(
        prefix / "var/lib/asterisk/documentation", Path("/var/lib/asterisk/documentation")
    )
    if docs is not None:  # AMI action/app XML docs; Asterisk only warns without them
        _link(tmpdir / "data/documentation", docs)

    for name in COPIED_FILES:
        shutil.copy(CONFIG_DIR / name, etc / name)

    manager = (CONFIG_DIR / "manager.conf").read_text()
    manager = _replace_setting(manager, "general", "port", str(port))
    manager = _replace_setting(manager, AMI_USERNAME, "secret", AMI_TEST_SECRET)
    for key, value in extra.dialer.items():
        manager = _replace_setting(manager, AMI_USERNAME, key, value)
    if extra.drop_eventfilters:
        manager = re.sub(r"(?m)^eventfilter.*\n", "", manager)
    manager += (
        f"\n; --- test only ---\n[{ADMIN_USERNAME}]\nsecret = {ADMIN_SECRET}\n"
        "deny = 0.0.0.0/0.0.0.0\npermit = 127.0.0.1/255.255.255.255\n"
        "read = all\nwrite = all\n"
    )
    (etc / "manager.conf").write_text(manager)

    queues = (CONFIG_DIR / "queues.conf").read_text()
    for key, value in extra.queues_general.items():
        queues = _replace_setting(queues, "general", key, value)
    queues += (
        f"\n; --- test only: no members, so a lead waits until Queue()'s timeout ---\n"
        f"[{EMPTY_QUEUE}]\nstrategy = ringall\njoinempty = yes\nleavewhenempty = no\n"
        "musicclass = default\n"
    )
    (etc / "queues.conf").write_text(queues)

    (etc / "modules.conf").write_text(
        "[modules]\nautoload = yes\n"
        + "".join(f"noload = {m}\n" for m in NOLOAD_MODULES if m not in extra.load)
    )
    (etc / "logger.conf").write_text(
        "[general]\n[logfiles]\nmessages.log => notice,warning,error,verbose\n"
    )
    # Empty files so the modules that read them start with defaults and do not warn;
    # http.conf empty means the HTTP server (and ARI) stays off.
    for name in ("http.conf", "cdr.conf", "cel.conf", "features.conf", "rtp.conf"):
        (etc / name).write_text("")

    for name, text in extra.appends.items():
        with (etc / name).open("a") as conf:
            conf.write(f"\n; --- test only (appended by the test harness) ---\n{text}")


def _link(path: Path, target: Path) -> None:
    """A symlink, left as it is when a restart lays out the same directory again."""
    if not path.is_symlink():
        path.symlink_to(target)


def _ami_fully_booted(host: str, port: int, deadline: float) -> bool:
    """Log in as the test admin and wait for FullyBooted (sent at login once booted)."""
    try:
        sock = socket.create_connection((host, port), timeout=1.0)
    except OSError:
        return False
    with sock:
        sock.settimeout(max(0.1, deadline - time.monotonic()))
        login = (
            f"Action: Login\r\nUsername: {ADMIN_USERNAME}\r\nSecret: {ADMIN_SECRET}\r\n"
            "Events: system\r\n\r\n"
        )
        try:
            sock.sendall(login.encode())
            data = b""
            while b"Event: FullyBooted" not in data:
                chunk = sock.recv(65536)
                if not chunk:
                    return False
                data += chunk
            sock.sendall(b"Action: Logoff\r\n\r\n")
        except OSError:
            return False
    return True


def _exit_reason(returncode: int) -> str:
    if returncode >= 0:
        return f"asterisk exited with code {returncode}"
    try:
        name = signal.Signals(-returncode).name
    except ValueError:
        name = f"signal {-returncode}"
    reason = f"asterisk was killed by {name} (exit code {returncode})"
    if -returncode == signal.SIGILL:
        reason += (
            ": an illegal instruction. The binary most likely uses "
            "CPU instructions this machine does not have (Asterisk's menuselect option "
            "BUILD_NATIVE, on by default, compiles with -march=native: a build made on a "
            "CPU with AVX-512 dies on one without). Rebuild it with "
            "`menuselect/menuselect --disable BUILD_NATIVE menuselect.makeopts`."
        )
    return reason


def start(
    binary: Path,
    tmpdir: Path,
    boot_timeout: float = 30.0,
    extra: ExtraConfig | None = None,
    port: int | None = None,
) -> RealAsterisk:
    """Boot Asterisk in tmpdir. A tmpdir and port used before make a restart: the same
    AMI address, the same AstDB (where persistent queue members are kept)."""
    port = port or free_loopback_port()
    write_config(binary, tmpdir, port, extra)
    pbx = RealAsterisk(binary=binary, tmpdir=tmpdir, host="127.0.0.1", port=port)
    _launch(pbx, boot_timeout)
    return pbx


def kill_and_restart(pbx: RealAsterisk, boot_timeout: float = 30.0) -> None:
    """kill -9 the running Asterisk (no hangup handlers, no `h`, no clean AstDB close)
    and start it again on the same configuration, files and port."""
    proc = pbx.process
    if proc is not None and proc.poll() is None:
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)
    _launch(pbx, boot_timeout)


def _launch(pbx: RealAsterisk, boot_timeout: float) -> None:
    binary, tmpdir = pbx.binary, pbx.tmpdir
    out = (tmpdir / "asterisk.out").open("ab")
    # -f foreground (we own the process), -n no colours, -g dump core on crash;
    # no -c: no console, stdin is /dev/null.
    pbx.process = subprocess.Popen(
        [str(binary), "-C", str(pbx.config_file), "-f", "-n", "-g"],
        stdin=subprocess.DEVNULL,
        stdout=out,
        stderr=subprocess.STDOUT,
        start_new_session=True,  # a Ctrl-C in the test terminal goes to pytest only
    )
    out.close()
    deadline = time.monotonic() + boot_timeout
    while time.monotonic() < deadline:
        if pbx.process.poll() is not None:
            raise AsteriskStartError(f"{_exit_reason(pbx.process.returncode)}\n{pbx.log_tail()}")
        if _ami_fully_booted(pbx.host, pbx.port, deadline):
            return
        time.sleep(0.2)
    pbx.stop()
    raise AsteriskStartError(f"asterisk not fully booted after {boot_timeout}s\n{pbx.log_tail()}")


def restart(pbx: RealAsterisk, extra: ExtraConfig | None = None) -> RealAsterisk:
    """Stop `pbx` and boot it again on the same port and files (a PBX restart)."""
    pbx.stop()
    return start(pbx.binary, pbx.tmpdir, extra=extra, port=pbx.port)


@contextlib.contextmanager
def start_private_asterisk(
    binary: Path, tmpdir: Path, extra: ExtraConfig | None = None
) -> Iterator[RealAsterisk]:
    """Run a private Asterisk for the duration of the with-block."""
    pbx = start(binary, tmpdir, extra=extra)
    try:
        yield pbx
    finally:
        pbx.stop()
