"""kill -9 of a process running the csv (flush=every) and hdf5 sinks: the selftest "sinks"
with ZSAT_SINKS_CRASH=dir stores 20 records, lets hdf5 flush, accepts 5 more and SIGKILLs
itself (exit never runs). On disk: every csv row whole (25), and an HDF5 file that opens with
h5py holding at least the 20 flushed records, in order, with their values."""
import csv
import os
import shutil
import signal
import subprocess
import sys
import tempfile

try:
    import h5py
except ImportError:
    print("h5py not installed: skipped")
    sys.exit(77)

T0 = 1700000000000000


def main():
    build = os.environ["ZSAT_BUILD"]
    tmp = tempfile.mkdtemp(prefix="zsat-sinks-kill9-")
    try:
        env = dict(os.environ, ZSAT_SINKS_CRASH=tmp)
        run = subprocess.run([os.path.join(build, "zsat_selftest"), "-t", "sinks"], env=env,
                             timeout=120)
        assert run.returncode == -signal.SIGKILL, "expected SIGKILL, got %d" % run.returncode
        with open(os.path.join(tmp, "h1", "csv", "cpu.csv"), newline="") as f:
            text = f.read()
        assert text.endswith("\n"), "partial last line"
        rows = list(csv.reader(text.splitlines()))
        assert rows[0] == ["time", "host", "node", "task_id", "load", "user", "state"], rows[0]
        assert len(rows) == 26, "csv rows: %d" % (len(rows) - 1)
        for i, row in enumerate(rows[1:]):
            assert row[3] == str(1000 + i) and float(row[4]) == i * 0.5, row
        with h5py.File(os.path.join(tmp, "h1", "measurements.h5"), "r") as f:
            cpu = f["cpu"][:]
        assert 20 <= len(cpu) <= 25, "hdf5 records: %d" % len(cpu)
        for i, row in enumerate(cpu):
            assert row["timestamp"] == T0 + i * 1000000 and row["task_id"] == 1000 + i, row
            assert row["load"] == i * 0.5 and row["user"] == 100 + i, row
        print("kill -9: csv 25/25 rows whole, hdf5 reopened with %d records (>= 20 flushed)"
              % len(cpu))
        return 0
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
