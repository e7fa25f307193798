"""The output folder (issue 15 kind 4): checked before the work starts, replaced as a whole, cleaned
up after a failure or a kill, and a full disk is one line and exit 2, for every command that writes."""

from __future__ import annotations

import errno
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from bad_input_cases import PERIOD, REF, _frame, _path, base_extract
from iapt_audit.cli import main
from iapt_audit.errors import InputError
from iapt_audit.report import atomic

ROOT = Path(__file__).resolve().parents[2]
ANNUAL = ("OrgType,OrgCode,OrgName,VariableType,VariableA,VariableB,Count_FinishedCourseTreatment,"
          "Count_NotAtCaseness,Count_Recovery\n"
          + "".join(f"Provider,P{i:02d},P {i},Total,Total,NULL,{100 + i},10,{40 + i}\n" for i in range(10)))


def _published(tmp_path: Path) -> Path:
    path = tmp_path / "psych-ther-ann-rep-csv-2020-21-main.csv"
    path.write_text(ANNUAL)
    return path


def _commands(tmp_path: Path):
    """Every command that writes an output folder, with its arguments before --out."""
    extract = base_extract(tmp_path / "extract")
    return {"audit": ["audit", str(extract), "--period", PERIOD, "--format", "json"],
            "check": ["check", str(extract), "--period", PERIOD],
            "outliers": ["outliers", str(_published(tmp_path)), "--measure", "recovery"]}


def _snapshot(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


@pytest.fixture
def no_work(monkeypatch):
    """Fail the test if the command's work starts: the folder must be refused first."""
    import iapt_audit.audit
    import iapt_audit.cli.outliers

    def started(*args, **kwargs):
        raise AssertionError("the work started before the output folder was checked")

    monkeypatch.setattr(iapt_audit.audit, "run_audit", started)
    monkeypatch.setattr(iapt_audit.audit, "read_and_select", started)
    monkeypatch.setattr(iapt_audit.cli.outliers, "analyse_published", started)


@pytest.mark.parametrize("command", ["audit", "check", "outliers"])
def test_an_out_below_a_file_is_refused_before_the_work(tmp_path, command, no_work):
    args = _commands(tmp_path)[command]
    blocker = tmp_path / "a-file"
    blocker.write_text("x")
    result = CliRunner().invoke(main, [*args, "--out", str(blocker / "out")])
    assert result.exit_code == 2, result.output
    assert result.output.count("\n") == 1 and "is a file, not a folder" in result.output
    result = CliRunner().invoke(main, [*args, "--out", str(blocker)])
    assert result.exit_code == 2 and "--out is a file" in result.output


@pytest.mark.parametrize("command", ["audit", "check", "outliers"])
def test_a_folder_of_other_files_is_refused_never_emptied(tmp_path, command, no_work):
    args = _commands(tmp_path)[command]
    out = tmp_path / "mine"
    out.mkdir()
    (out / "thesis.docx").write_text("precious")
    result = CliRunner().invoke(main, [*args, "--out", str(out)])
    assert result.exit_code == 2 and "not iapt-audit reports" in result.output and "'thesis.docx'" in result.output
    assert (out / "thesis.docx").read_text() == "precious"


READ_ONLY_RUN = """
import os, sys
os.setgid(65534); os.setuid(65534)  # nobody: permissions apply (root ignores them)
from click.testing import CliRunner
from iapt_audit.cli import main
import iapt_audit.audit
iapt_audit.audit.run_audit = None  # any use of it fails loudly: the folder must be refused first
result = CliRunner().invoke(main, sys.argv[1:])
print(result.exit_code, result.output, sep="|")
"""


@pytest.fixture
def shared_tmp():
    """A folder other users can reach (pytest's own temporary folders are private to root)."""
    import shutil
    import tempfile

    folder = Path(tempfile.mkdtemp(prefix="iapt-read-only-"))
    os.chmod(folder, 0o755)
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to run the command as another user")
def test_a_read_only_out_is_refused_before_the_work(shared_tmp):
    tmp_path = shared_tmp
    extract = base_extract(tmp_path / "extract")
    probe = subprocess.run([sys.executable, "-c", "import os; os.setgid(65534); os.setuid(65534); "
                            "import iapt_audit.cli"], capture_output=True, env={**os.environ, "PYTHONPATH": str(ROOT)},
                           cwd=tmp_path, timeout=120)
    if probe.returncode:
        pytest.skip("the Python installation is not readable by other users (nobody)")
    out = tmp_path / "out"
    out.mkdir(mode=0o555)
    os.chmod(out, 0o555)
    for args in (["audit", str(extract), "--period", PERIOD, "--out", str(out)],
                 ["audit", str(extract), "--period", PERIOD, "--out", str(tmp_path / "new")]):
        run = subprocess.run([sys.executable, "-c", READ_ONLY_RUN, *args], capture_output=True, text=True,
                             env={**os.environ, "PYTHONPATH": str(ROOT)}, cwd=tmp_path, timeout=120)
        code, output = run.stdout.split("|", 1)
        assert code == "2", run.stdout + run.stderr
        assert output.count("\n") == 1 and "permission denied" in output, output


def test_a_full_disk_is_one_line_exit_2_and_keeps_the_previous_set(tmp_path, monkeypatch):
    extract = base_extract(tmp_path / "extract")
    out = tmp_path / "out"
    args = ["audit", str(extract), "--period", PERIOD, "--format", "json,html", "--out", str(out)]
    assert CliRunner().invoke(main, args).exit_code == 0
    before = _snapshot(out)
    written = []

    real_write_text = Path.write_text

    def full(self, *a, **k):
        if len(written) == 2:  # the third file written hits a full disk
            raise OSError(errno.ENOSPC, "No space left on device", str(self))
        written.append(self)
        return real_write_text(self, *a, **k)

    monkeypatch.setattr(Path, "write_text", full)
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 2, result.output
    lines = result.output.strip().splitlines()
    assert lines[-1].startswith("iapt-audit: error: ") and "the disk is full" in lines[-1]
    assert "Traceback" not in result.output and str(out) in lines[-1] and ".iapt-audit-" not in lines[-1]
    assert _snapshot(out) == before  # the old set, whole
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".out.")] == []  # no half-written set left


def test_the_new_set_replaces_the_old_as_a_whole(tmp_path, monkeypatch):
    """While the new set is written, --out holds the old set, all of it; afterwards the new one only."""
    extract = base_extract(tmp_path / "extract")
    out = tmp_path / "out"
    CliRunner().invoke(main, ["audit", str(extract), "--period", PERIOD, "--format", "json,html", "--out", str(out)])
    old = _snapshot(out)
    assert "commissioner.html" in old
    frame = _frame(extract, REF)
    frame[frame["ServiceRequestId"] != "R3"].to_csv(_path(extract, REF), index=False)  # one referral fewer
    seen = []
    import iapt_audit.report.writer as writer

    real = writer.write_report

    def watching(*a, **k):
        seen.append(_snapshot(out))
        return real(*a, **k)

    monkeypatch.setattr(writer, "write_report", watching)
    result = CliRunner().invoke(main, ["audit", str(extract), "--period", PERIOD, "--format", "json",
                                       "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert seen and all(snapshot == old for snapshot in seen)
    new = _snapshot(out)
    assert "commissioner.html" not in new and "commissioner.json" in new  # the old html is gone with its set
    assert new["findings.json"] != old["findings.json"]


KILLED_WHILE_WRITING = """
import os, signal, sys
import iapt_audit.report.writer as writer
real = writer.write_report
def killed(*a, **k):
    os.kill(os.getpid(), signal.SIGKILL)
writer.write_report = killed
from iapt_audit.cli import main
main(sys.argv[1:])
"""


def test_a_killed_run_leaves_the_old_set_and_its_leftovers_are_removed_next_time(tmp_path):
    extract = base_extract(tmp_path / "extract")
    out = tmp_path / "out"
    args = ["audit", str(extract), "--period", PERIOD, "--format", "json", "--out", str(out)]
    assert CliRunner().invoke(main, args).exit_code == 0
    before = _snapshot(out)
    run = subprocess.run([sys.executable, "-c", KILLED_WHILE_WRITING, *args], capture_output=True, text=True,
                         env={**os.environ, "PYTHONPATH": str(ROOT)}, timeout=300)
    assert run.returncode == -signal.SIGKILL, run.stderr[-2000:]
    assert _snapshot(out) == before
    leftovers = [p for p in tmp_path.iterdir() if p.name.startswith(".out.iapt-audit-")]
    assert len(leftovers) == 1 and (leftovers[0] / "findings.json").exists()  # the killed run's half set
    (out / ".findings.json.abc.part").write_text("left by an older version")
    assert CliRunner().invoke(main, args).exit_code == 0
    assert [p for p in tmp_path.iterdir() if p.name.startswith(".out.iapt-audit-")] == []
    assert not [p for p in out.iterdir() if p.name.endswith(".part")]


def test_an_error_during_the_work_keeps_the_old_set_and_leaves_nothing(tmp_path):
    extract = base_extract(tmp_path / "extract")
    out = tmp_path / "out"
    assert CliRunner().invoke(main, ["audit", str(extract), "--period", PERIOD, "--out", str(out),
                                     "--format", "json"]).exit_code == 0
    before = _snapshot(out)
    (extract / f"{REF}.csv").write_text("")  # now unreadable
    result = CliRunner().invoke(main, ["audit", str(extract), "--period", PERIOD, "--out", str(out)])
    assert result.exit_code == 2 and "the file is empty" in result.output
    assert _snapshot(out) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["extract", "out"]


@pytest.mark.parametrize("code, words", [(errno.ENOSPC, "the disk is full"), (errno.EDQUOT, "quota"),
                                         (errno.EROFS, "read-only"), (errno.EACCES, "permission denied")])
def test_file_system_refusals_while_writing_are_one_line(tmp_path, code, words):
    out = tmp_path / "out"
    with pytest.raises(InputError, match=words) as err:
        with atomic.output_folder(out) as folder:
            raise OSError(code, os.strerror(code), str(folder / "findings.json"))
    assert err.value.file == str(out / "findings.json") and err.value.fix
    assert list(tmp_path.iterdir()) == []


def test_the_swap_is_one_rename_exchange(tmp_path, monkeypatch):
    """Linux's RENAME_EXCHANGE: at no moment is --out missing or mixed."""
    out = tmp_path / "out"
    out.mkdir()
    (out / "findings.json").write_text("old")
    calls = []
    real_rename = os.rename
    monkeypatch.setattr(os, "rename", lambda *a: (calls.append(a), real_rename(*a))[1])
    with atomic.output_folder(out) as folder:
        (folder / "findings.json").write_text("new")
    assert (out / "findings.json").read_text() == "new" and calls == []
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


@pytest.mark.parametrize("command", ["audit", "check", "outliers"])
@pytest.mark.parametrize("which", ["out", "parent"])
def test_a_folder_the_user_cannot_write_is_refused_before_the_work(tmp_path, monkeypatch, command, which, no_work):
    """As a user without write permission sees it (root ignores permissions, so access is what is asked)."""
    args = _commands(tmp_path)[command]
    out = tmp_path / "reports" / "out"
    out.mkdir(parents=True)
    denied = out if which == "out" else out.parent
    real = os.access
    monkeypatch.setattr(atomic.os, "access",
                        lambda path, mode: False if Path(path) == denied and mode & os.W_OK else real(path, mode))
    result = CliRunner().invoke(main, [*args, "--out", str(out)])
    assert result.exit_code == 2 and result.output.count("\n") == 1, result.output
    assert "permission denied" in result.output and str(denied) in result.output
    assert sorted(p.name for p in out.parent.iterdir()) == ["out"]
