"""An audit opens no network connection, never changes its input, and is deterministic."""

from __future__ import annotations

import hashlib
import socket

import pytest
from click.testing import CliRunner

from bad_input_cases import PERIOD, _as_workbook, _zip_of, base_extract
from iapt_audit.cli import main


def _audit(target, out, *extra):
    result = CliRunner().invoke(main, ["audit", str(target), "--out", str(out), "--period", PERIOD, *extra])
    assert result.exit_code == 0, result.output
    return out


def _checksums(folder):
    return {p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def test_an_audit_opens_no_network_connection(tmp_path, monkeypatch):
    attempts = []

    def refuse(*args, **kwargs):
        attempts.append(args)
        raise OSError("network disabled by the test")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket.socket, "connect_ex", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket, "getaddrinfo", refuse)
    _audit(base_extract(tmp_path / "extract"), tmp_path / "out")
    assert attempts == []


@pytest.mark.parametrize("container", ["folder", "xlsx", "zip"])
def test_inputs_are_never_modified(tmp_path, container):
    folder = base_extract(tmp_path / "inputs" / "extract")
    target = {"folder": folder, "xlsx": None, "zip": None}[container] or (
        _as_workbook(folder) if container == "xlsx" else _zip_of(folder))
    before = _checksums(tmp_path / "inputs")
    _audit(target, tmp_path / "out")
    assert _checksums(tmp_path / "inputs") == before


def test_findings_json_is_byte_identical_across_runs_and_input_containers(tmp_path):
    folder = base_extract(tmp_path / "extract")
    first = (_audit(folder, tmp_path / "a") / "findings.json").read_bytes()
    assert (_audit(folder, tmp_path / "b") / "findings.json").read_bytes() == first
    assert (_audit(_as_workbook(folder), tmp_path / "c") / "findings.json").read_bytes() == first
    assert (_audit(_zip_of(folder), tmp_path / "d") / "findings.json").read_bytes() == first


def _cell_values(path):
    import openpyxl

    book = openpyxl.load_workbook(path)
    return {sheet.title: [[cell.value for cell in row] for row in sheet.iter_rows()] for sheet in book.worksheets}


def test_workbook_cells_and_findings_are_identical_across_runs_and_format_choices(tmp_path):
    folder = base_extract(tmp_path / "extract")
    only_xlsx = _audit(folder, tmp_path / "a", "--format", "xlsx")
    everything = _audit(folder, tmp_path / "b", "--format", "xlsx,html,json")
    assert (only_xlsx / "findings.json").read_bytes() == (everything / "findings.json").read_bytes()
    for audience in ("self-check", "commissioner", "regulator"):
        first = _cell_values(only_xlsx / f"{audience}.xlsx")
        assert first == _cell_values(everything / f"{audience}.xlsx")
        assert sum(len(rows) for rows in first.values()) > 20  # a real workbook, not an empty one
    assert not (only_xlsx / "self-check.html").exists() and (everything / "self-check.html").exists()
