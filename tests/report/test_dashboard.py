"""`inas dashboard` serves optuna-dashboard on the study's storage, over HTTP on loopback."""

import socket
import subprocess
import sys
import time
import urllib.request


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_dashboard_serves_the_study(study_dir):
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "inas", "dashboard", "demo", "--port", str(port)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline, page, studies = time.time() + 60, None, None
        while time.time() < deadline and proc.poll() is None:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/dashboard/", timeout=5) as r:
                    page = r.read().decode()
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/studies", timeout=5) as r:
                    studies = r.read().decode()
                break
            except OSError:
                time.sleep(0.5)
        assert page is not None, f"no answer on port {port}: {proc.stderr.read() if proc.poll() is not None else ''}"
        assert "<html" in page.lower() and '"study_name": "demo"' in studies.replace('":"', '": "')
    finally:
        proc.terminate()
        _, err = proc.communicate(timeout=30)
    assert f"http://127.0.0.1:{port}/dashboard/studies/" in err


def test_busy_port_is_a_clear_error(study_dir):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]
        proc = subprocess.run(
            [sys.executable, "-m", "inas", "dashboard", "demo", "--port", str(port)], capture_output=True, text=True
        )
    assert proc.returncode == 2 and f"--port {port} --host 127.0.0.1: cannot serve there" in proc.stderr
    assert "Traceback" not in proc.stderr
