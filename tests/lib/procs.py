"""Real ringgate / ringgate-sim processes for the Python tests: started on 127.0.0.1
ephemeral ports (their {"event":"listening"} line names the ports), killed at exit, and
a sanitizer report in any child's stderr fails the test (as tests/lib/procs.mjs does)."""
import atexit
import json
import os
import re
import shutil
import subprocess
import tempfile
import threading
import time
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
SOURCE_ROOT = os.path.abspath(os.path.join(HERE, '..', '..'))
BUILD_DIR = os.environ.get('RINGGATE_BUILD_DIR', os.path.join(SOURCE_ROOT, 'build'))
RINGGATE = os.environ.get('RINGGATE_BIN', os.path.join(BUILD_DIR, 'src/gateway/ringgate'))
SIM = os.environ.get('RINGGATE_SIM_BIN', os.path.join(BUILD_DIR, 'src/sim/ringgate-sim'))

_TMP = tempfile.mkdtemp(prefix='ringgate-py-')
atexit.register(shutil.rmtree, _TMP, True)


_live = []
_SANITIZER = re.compile(r'ERROR: (AddressSanitizer|LeakSanitizer)|runtime error: |SUMMARY: UndefinedBehaviorSanitizer')


def _kill_all():
    for p in _live:
        if p.poll() is None:
            p.kill()
            p.wait()


atexit.register(_kill_all)


class Proc:
    """A started binary and the fields of its {"event":"listening"} line."""

    def __init__(self, args, timeout=15, env=None):
        self.args = args
        self.stderr_path = os.path.join(_TMP, 'stderr-%d-%d' % (os.getpid(), len(_live)))
        self.stderr_file = open(self.stderr_path, 'wb')
        self.proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=self.stderr_file,
                                     env=None if env is None else {**os.environ, **env})
        _live.append(self.proc)
        box = {}

        def read_line():
            for line in self.proc.stdout:
                try:
                    msg = json.loads(line)
                except ValueError:
                    continue
                if msg.get('event') == 'listening':
                    box['msg'] = msg
                    return

        reader = threading.Thread(target=read_line, daemon=True)
        reader.start()
        reader.join(timeout)
        if 'msg' not in box:
            self.proc.kill()
            raise RuntimeError('%s did not start: %s' % (args[0], self.stderr()))
        self.info = box['msg']

    def stderr(self):
        with open(self.stderr_path, 'rb') as f:
            return f.read().decode(errors='replace')

    def stop(self, sig=15):
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.stderr_file.close()
        self.proc.stdout.close()
        # Under the ASan+UBSan build (scripts/run-tests.sh) a report in any child's
        # stderr fails the test, as tests/lib/procs.mjs does for the Node suites.
        report = _SANITIZER.search(self.stderr())
        if report:
            raise AssertionError('sanitizer report from %s:\n%s' % (os.path.basename(self.args[0]),
                                                                   self.stderr()[max(0, report.start() - 200):][:4000]))
        return self.proc.returncode


def start_sim(*extra, env=None):
    return Proc([SIM, '--host', '127.0.0.1', '--port', '0', '--seed', '7', *extra], env=env)


def start_gateway(*extra):
    return Proc([RINGGATE, '--listen', '127.0.0.1:0', '--admin', '127.0.0.1:0', *extra])


def write_config(text):
    fd, path = tempfile.mkstemp(suffix='.yaml', dir=_TMP)
    with os.fdopen(fd, 'w') as f:
        f.write(text)
    return path


def http_get(url, timeout=5):
    with urllib.request.urlopen(url, timeout=timeout) as r:
        return r.read().decode()


def wait_for(check, timeout=10.0, what='condition'):
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        try:
            value = check()
            if value:
                return value
        except Exception as e:  # the condition may not be reachable yet
            last = e
        time.sleep(0.02)
    raise AssertionError('timed out waiting for %s (%s)' % (what, last))
