"""The hdf5 sink's file is readable by h5py and h5dump: the selftest "sinks" writes it through
the kind (ZSAT_SINKS_KEEP=path keeps it), then every field is checked here with h5py."""
import math
import os
import shutil
import subprocess
import sys
import tempfile

try:
    import h5py
except ImportError:
    print("h5py not installed: skipped")
    sys.exit(77)

T0 = 1700000000000000


def check_cpu_row(row, i, steal):
    assert row["timestamp"] == T0 + i * 1000000, row
    assert row["task_id"] == 1000 + i, row
    assert row["host"] == b"h1" and row["node"] == b"cpu", row
    assert row["load"] == i * 0.5 and row["user"] == 100 + i, row
    assert row["state"] == (b'a,"b"' if i == 0 else b"s%d" % i), row
    if steal is not None:
        assert (math.isnan(row["steal"]) if math.isnan(steal) else row["steal"] == steal), row


def main():
    build = os.environ["ZSAT_BUILD"]
    tmp = tempfile.mkdtemp(prefix="zsat-sinks-h5py-")
    try:
        path = os.path.join(tmp, "measurements.h5")
        env = dict(os.environ, ZSAT_SINKS_KEEP=path)
        run = subprocess.run([os.path.join(build, "zsat_selftest"), "-t", "sinks"], env=env,
                             timeout=120)
        assert run.returncode == 0, "selftest failed"
        with h5py.File(path, "r") as f:
            assert sorted(f.keys()) == ["cpu", "cpu.2", "mem"], list(f.keys())
            cpu = f["cpu"]
            assert cpu.dtype.names == ("timestamp", "task_id", "host", "node", "load", "user",
                                       "state"), cpu.dtype.names
            assert cpu.shape == (10,), cpu.shape
            for i in range(10):
                check_cpu_row(cpu[i], i, None)
            cpu2 = f["cpu.2"]
            assert cpu2.dtype.names[-1] == "steal" and cpu2.shape == (3,)
            for row, i, steal in zip(cpu2[:], (10, 11, 12), (7.0, math.nan, 9.0)):
                check_cpu_row(row, i, steal)
            mem = f["mem"][:]
            assert mem.shape == (1,) and mem[0]["used"] == 123.0 and mem[0]["host_"] == b"x"
        if shutil.which("h5dump"):
            dump = subprocess.run(["h5dump", "-d", "/cpu", path], capture_output=True, timeout=60)
            assert dump.returncode == 0 and b'"s9"' in dump.stdout, dump.stdout[-400:]
        print("hdf5: 10 + 3 + 1 records read back with h5py, field by field")
        return 0
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
