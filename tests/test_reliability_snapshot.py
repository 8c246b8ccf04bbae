"""Reliability of the published snapshot: readers cannot change it, other sources' snapshots are never
replaced, and a full disk is named as such.

The snapshot used to be published with mode 0644: a reader under the pipeline's user that opened it the
default way locked every other reader out, and `update bi.mac_latest …` persisted until the next publish.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap

import duckdb
import pytest
from process_helpers import REPO

from mac_assets.infra.warehouse import StorageError
from mac_assets.publish.bi import publish


def _mac_latest(path) -> list:
    con = duckdb.connect(str(path), read_only=True)
    try:
        return con.execute("select date, mac from bi.mac_latest").fetchall()
    finally:
        con.close()


def test_the_snapshot_is_read_only_and_a_default_connection_gets_a_clear_error(demo_graph, tmp_path):
    target = tmp_path / "mac_bi.duckdb"
    publish(str(demo_graph.path), str(target), "demo")
    assert target.stat().st_mode & 0o777 == 0o444
    latest = _mac_latest(target)
    with pytest.raises(duckdb.IOException, match=rf'Cannot open file "{target}": (Permission denied|Operation not permitted)'):
        duckdb.connect(str(target))  # what the DuckDB CLI and most tools do by default, as root too
    assert _mac_latest(target) == latest  # read-only connections, any number of them, still read it
    publish(str(demo_graph.path), str(target), "demo")  # and the next publish replaces it
    assert _mac_latest(target) == latest and target.stat().st_mode & 0o777 == 0o444


def test_a_bi_path_holding_another_sources_snapshot_is_refused(demo_graph, tmp_path):
    target = tmp_path / "mac_bi.duckdb"
    publish(str(demo_graph.path), str(target), "demo")
    before = target.read_bytes()
    with pytest.raises(StorageError, match=r"is the snapshot of source 'demo' and this run's source is 'csv': "
                                           r"refusing to replace it. .*data/csv/mac_bi.duckdb"):
        publish(str(demo_graph.path), str(target), "csv")
    record = tmp_path / ".mac_bi.duckdb.published"
    record.rename(tmp_path / "record")  # without the record, the snapshot itself says whose it is
    with pytest.raises(StorageError, match="is the snapshot of source 'demo'"):
        publish(str(demo_graph.path), str(target), "csv")
    assert target.read_bytes() == before
    (tmp_path / "record").rename(record)  # so the session's clean-up finds the snapshot


FULL_DISK = textwrap.dedent("""
    import resource, signal, sys
    from mac_assets.infra.warehouse import StorageError
    from mac_assets.publish.bi import publish

    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past the limit fails, as on a full disk
    resource.setrlimit(resource.RLIMIT_FSIZE, (200_000, 200_000))
    try:
        publish(sys.argv[1], sys.argv[2], "demo")
    except StorageError as exc:
        print(exc)
""")


@pytest.mark.process
def test_a_snapshot_folder_without_room_names_the_disk_and_the_file(demo_graph, tmp_path):
    target = tmp_path / "mac_bi.duckdb"
    done = subprocess.run([sys.executable, "-c", FULL_DISK, str(demo_graph.path), str(target)], cwd=REPO,
                          capture_output=True, text=True, timeout=120)
    message = done.stdout.strip()
    assert message.startswith(f"bi snapshot: could not write {tmp_path}/.mac_bi.duckdb.") and "File too large" in message
    assert "the disk mounted at /" in message and "MB free. Make room there or set MAC_BI_PATH" in message
    assert "CHECKPOINT" not in message and "\n" not in message
    assert list(tmp_path.iterdir()) == []  # no half-written snapshot left
