import os

import pytest

from inas.errors import InasError
from inas.files import make_ordinary, write_atomic


def test_write_atomic_writes_an_ordinary_file(tmp_path):
    path = tmp_path / "new" / "out.txt"
    write_atomic(path, "hello")
    umask = os.umask(0)
    os.umask(umask)
    assert path.read_text() == "hello" and (path.stat().st_mode & 0o777) == 0o666 & ~umask
    assert sorted(p.name for p in path.parent.iterdir()) == ["out.txt"]  # no temp file left


def test_write_atomic_refuses_a_folder(tmp_path):
    with pytest.raises(InasError, match="is a folder; give a file path"):
        write_atomic(tmp_path, "x")


def test_make_ordinary(tmp_path):
    path = tmp_path / "f"
    path.write_text("")
    path.chmod(0o600)
    make_ordinary(path)
    umask = os.umask(0)
    os.umask(umask)
    assert (path.stat().st_mode & 0o777) == 0o666 & ~umask


@pytest.mark.parametrize(
    ("name", "stem"),
    [
        ("../../PWNED_REPORT", "PWNED_REPORT"),
        ("a/b c", "a_b_c"),
        ("..", "study"),
        ("ok-1.2", "ok-1.2"),
        ("\x1b[31m", "31m"),
    ],
)
def test_safe_stem_never_leaves_its_folder(name, stem):
    from inas.files import dashboard_path, safe_stem

    assert safe_stem(name) == stem
    assert dashboard_path(name, ".html").parent.name == "dashboards"
