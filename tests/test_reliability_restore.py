"""Reliability of backups and restore: no kill, lost file, shared folder or concurrent run loses raw history.

A restore killed between moving the working file aside and moving the rebuilt one in used to leave a
run free to start an empty file, whose backup then became the newest and was what the next restore
restored (raw VIX 924 → 60 rows, every command exiting 0). Each case below starts from the shared demo
graph's working file; kills happen in child processes at a deterministic step.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import textwrap
import time

import duckdb
import pytest
from graph_helpers import run_assets, settings_for, tables
from process_helpers import REPO, child_env, run_child

from mac_assets.infra import warehouse
from mac_assets.infra.backup import backup_raw, backups, check_intact, restore, verified
from mac_assets.infra.warehouse import StorageError
from mac_assets.sources.demo import DemoSource


@pytest.fixture
def working(demo_graph, tmp_path):
    """A copy of the demo graph's working file with one verified backup of it; returns (file, backup folder)."""
    path, root = tmp_path / "mac.duckdb", tmp_path / "backups"
    shutil.copy(demo_graph.path, path)
    backup_raw(str(path), root, keep=3)
    return path, root


def _raw(path) -> dict:
    return {k: v for k, v in tables(path).items() if k.startswith("raw.")}


def _vix_rows(path) -> int:
    return len(tables(path)["raw.vix"])


def _shorten(path, keep_rows: int) -> None:
    """The working file after history was lost: VIX down to its last `keep_rows` rows."""
    con = duckdb.connect(str(path))
    con.execute("delete from raw.vix where date < (select min(date) from (select date from raw.vix order by date desc "
                "limit ?))", [keep_rows])
    con.close()


def _compared(report: str, series: str) -> list[str]:
    """The restore report's line for a series: rows in the file, rows in the backup, where it was restored from."""
    [line] = [line for line in report.splitlines() if line.split()[0] == series]
    return line.split()[1:]


def _run_vix(path, root):
    """The smallest run that opens the working file for writing: raw/vix for 2020."""
    return run_assets(path, ["raw/vix"], "2020", DemoSource(seed=7, as_of="2021-06-30"),
                      settings=settings_for(path, backup_dir=str(root)))


def _failure(result) -> str:
    error = next(e for e in result.all_events if e.is_failure).event_specific_data.error
    return "\n".join(e.message for e in (error, error.cause) if e)


KILL_AFTER_SETTING_ASIDE = textwrap.dedent("""
    import os, signal, sys
    from pathlib import Path
    from mac_assets.infra.backup import restore

    real = Path.rename

    def rename(self, target):  # SIGKILL right after the working file is moved aside, before the new one moves in
        result = real(self, target)
        if ".damaged-" in str(target):
            os.kill(os.getpid(), signal.SIGKILL)
        return result

    Path.rename = rename
    restore(sys.argv[1], Path(sys.argv[2]))
""")


@pytest.mark.process
def test_a_restore_killed_mid_swap_stops_the_next_run_and_is_finished_by_the_next_restore(working):
    path, root = working
    raw_before = _raw(path)
    path.write_bytes(b"damaged")
    killed = subprocess.run([sys.executable, "-c", KILL_AFTER_SETTING_ASIDE, str(path), str(root)], cwd=REPO,
                            capture_output=True, text=True, timeout=120)
    assert killed.returncode == -signal.SIGKILL, killed.stderr[-2000:]
    assert not path.exists() and any(p.name.startswith("mac.duckdb.damaged-") for p in path.parent.iterdir())

    with pytest.raises(StorageError, match=r"an interrupted `make restore` left .*run `make restore` to finish it"):
        check_intact(str(path), root)
    result = _run_vix(path, root)
    assert not result.success and "run `make restore` to finish it" in _failure(result)
    assert not path.exists()  # no empty working file was started

    report = restore(str(path), root)
    assert "Now run `make run`" in report
    restored = tables(path)
    assert all(restored[t].equals(raw_before[t]) for t in raw_before)
    assert sorted(p.name for p in path.parent.iterdir() if p.name.startswith(".mac.duckdb.restor")) == []
    check_intact(str(path), root)


def test_a_lost_working_file_is_not_replaced_by_an_empty_one(working):
    path, root = working
    path.unlink()
    result = _run_vix(path, root)
    assert not result.success
    assert "is missing, and its history is in 1 backup(s) of it under" in _failure(result)
    assert "run `make restore` to rebuild it" in _failure(result)
    assert not path.exists()


def test_restore_never_picks_a_backup_with_less_history_than_another_or_than_the_file(working):
    path, root = working
    full = _vix_rows(path)
    saved = path.with_name("saved.duckdb")
    shutil.copy(path, saved)
    _shorten(path, 60)
    backup_raw(str(path), root, keep=3)  # the newest backup, of a file that had lost history
    path.write_bytes(b"damaged beyond reading")
    report = restore(str(path), root)
    assert _vix_rows(path) == full
    assert "mac.duckdb could not be read" in report and _compared(report, "vix") == ["-", str(full), "backup"]

    # The file itself holds more than every backup: those series are copied from it, none is lost.
    shutil.copy(saved, path)
    con = duckdb.connect(str(path))
    con.execute("insert into raw.vix select date + interval 3000 day, value, source, provider, fetched_at "
                "from raw.vix limit 5")
    con.close()
    report = restore(str(path), root)
    assert _vix_rows(path) == full + 5
    assert _compared(report, "vix") == [str(full + 5), str(full), "mac.duckdb"]


def test_backups_never_rotate_away_the_only_copy_of_history_newer_ones_lack(working):
    path, root = working
    [full] = backups(root, str(path))
    _shorten(path, 23)
    made = [backup_raw(str(path), root, keep=2) for _ in range(4)]
    kept = [b.path for b in backups(root, str(path))]
    assert kept == [made[3].path, made[2].path, full.path]  # the short ones rotate; the full one stays
    assert verified(backups(root, str(path))[-1])


def test_a_shared_backup_folder_restores_and_rotates_each_working_file_by_its_own_backups(working, tmp_path):
    path, root = working
    raw_before = _raw(path)
    other = tmp_path / "other" / "mac.duckdb"
    other.parent.mkdir()
    shutil.copy(path, other)
    _shorten(other, 10)
    for _ in range(3):
        backup_raw(str(other), root, keep=1)  # another source's runs, newer, sharing MAC_BACKUP_DIR
    assert len(backups(root, str(path))) == 1 and len(backups(root, str(other))) == 1
    path.write_bytes(b"damaged")
    restore(str(path), root)
    restored = tables(path)
    assert all(restored[t].equals(raw_before[t]) for t in raw_before)
    with pytest.raises(RuntimeError, match=r"no verified backup of .*elsewhere.duckdb .* holds backups of .*mac.duckdb"):
        restore(str(tmp_path / "elsewhere.duckdb"), root)


def test_quarantined_and_revised_rows_are_backed_up_and_restored(working):
    path, root = working
    con = duckdb.connect(str(path))
    con.execute("create schema quarantine; create table quarantine.vix as select *, 'test' as reason from raw.vix limit 3")
    con.execute("create schema revisions; create table revisions.vix as select * from raw.vix limit 2")
    con.close()
    made = backup_raw(str(path), root, keep=3)
    assert made.tables["quarantine.vix"]["rows"] == 3 and made.tables["revisions.vix"]["rows"] == 2
    path.write_bytes(b"damaged")
    restore(str(path), root)
    assert len(tables(path)["quarantine.vix"]) == 3 and len(tables(path)["revisions.vix"]) == 2


KILL_MID_BACKUP = textwrap.dedent("""
    import os, signal, sys
    from pathlib import Path
    import mac_assets.infra.backup as backup

    real, calls = backup._file_checksum, []

    def checksum(con, file):  # SIGKILL after the first table is exported and checked
        calls.append(file)
        if len(calls) == 2:
            os.kill(os.getpid(), signal.SIGKILL)
        return real(con, file)

    backup._file_checksum = checksum
    backup.backup_raw(sys.argv[1], Path(sys.argv[2]), 3)
""")


@pytest.mark.process
def test_a_killed_backup_leaves_a_partial_folder_that_the_next_backup_sweeps(working):
    path, root = working
    killed = subprocess.run([sys.executable, "-c", KILL_MID_BACKUP, str(path), str(root)], cwd=REPO,
                            capture_output=True, text=True, timeout=120)
    assert killed.returncode == -signal.SIGKILL, killed.stderr[-2000:]
    assert [p for p in root.iterdir() if p.name.endswith(".partial")]
    backup_raw(str(path), root, keep=3)
    assert not [p for p in root.iterdir() if p.name.endswith(".partial")]
    assert len(backups(root, str(path))) == 2


HOLD = "import sys, time; from mac_assets.infra import warehouse; warehouse.{}; print('held', flush=True); time.sleep(120)"


def _holder(code: str) -> subprocess.Popen:
    holder = subprocess.Popen([sys.executable, "-c", code], cwd=REPO, stdout=subprocess.PIPE, text=True)
    assert holder.stdout.readline().strip() == "held"
    return holder


@pytest.mark.process
def test_a_restore_while_a_run_holds_the_working_file_is_refused_naming_the_run(working):
    path, root = working
    before = path.read_bytes()
    holder = _holder(HOLD.format(f"hold_open({str(path)!r})"))
    try:
        with pytest.raises(StorageError, match=rf"is in use by process {holder.pid} \(a run: python -c"):
            restore(str(path), root)
    finally:
        holder.kill()
        holder.wait()
    assert path.read_bytes() == before and not list(path.parent.glob("*.damaged-*"))
    assert "Now run `make run`" in restore(str(path), root)  # the kernel released the dead holder's lock


@pytest.mark.process
def test_a_second_make_run_is_refused_at_once_naming_the_first(tmp_path):
    env = child_env(tmp_path)
    holder = _holder(HOLD.format(f"acquire({env['MAC_DUCKDB_PATH']!r}, 'make run')"))
    try:
        started = time.monotonic()
        done = run_child(["-m", "mac_assets.run"], env, timeout=120)
        last = done.stderr.strip().splitlines()[-1]
        assert done.returncode == 1 and last.startswith("mac: ") and "Traceback" not in done.stderr
        assert f"is in use by process {holder.pid} (make run: python -c" in last
        assert time.monotonic() - started < 20
    finally:
        holder.kill()
        holder.wait()
    assert not os.path.exists(env["MAC_DUCKDB_PATH"])
    assert warehouse.lock_file(env["MAC_DUCKDB_PATH"]).exists()
