"""HDF5 archives of the buffer read back with h5py, field by field, against the log export.

Writes records with `zsat buffer write`, exports them as JSON lines, compacts the log into
HDF5 (`zsat buffer compact`), then opens every archive with h5py and compares seq,
timestamp, task_id, flags, routing, envelope and payload, plus the layout's attributes.
"""
import base64
import glob
import json
import os
import subprocess
import sys
import tempfile

try:
    import h5py
except ImportError:
    print("h5py is not installed for /usr/bin/python3: skipped")
    sys.exit(77)

ZSAT = os.environ["ZSAT_BIN"]


def zsat(*args):
    return subprocess.run([ZSAT, "buffer", *args], check=True, capture_output=True, text=True).stdout


with tempfile.TemporaryDirectory(prefix="zsat_buffer_h5py.") as tmp:
    zsat("write", "--dir", tmp, "--channel", "crit", "--count", "3000", "--size", "77",
         "--segment-size", "100000", "--durability", "none", "--consumer", "sink")
    expected = [json.loads(line) for line in zsat("export", "--dir", tmp, "--channel", "crit",
                                                  "--format", "jsonl").splitlines()]
    assert len(expected) == 3000, len(expected)
    zsat("compact", "--dir", tmp, "--channel", "crit")
    files = sorted(glob.glob(os.path.join(tmp, "crit", "arc-*.h5")))
    assert len(files) > 1, files
    seen = 0
    for path in files:
        with h5py.File(path, "r") as f:
            g = f["/channels/crit"]
            assert g.attrs["format"] in ("zsat-buffer 1", b"zsat-buffer 1")
            assert g.attrs["cursor.sink"] == 0
            n = len(g["seq"])
            assert g.attrs["first_seq"] == g["seq"][0] and g.attrs["last_seq"] == g["seq"][n - 1]
            for i in range(n):
                e = expected[seen]
                assert int(g["seq"][i]) == e["seq"], (path, i)
                assert int(g["timestamp"][i]) == e["timestamp"]
                assert int(g["task_id"][i]) == e["task_id"]
                assert int(g["flags"][i]) == e["flags"]
                routing = g["routing"][i]
                routing = routing.decode() if isinstance(routing, bytes) else routing
                assert routing == e["routing"], routing
                assert bytes(g["envelope"][i]) == base64.b64decode(e["envelope"])
                assert bytes(g["payload"][i]) == base64.b64decode(e["payload"])
                seen += 1
    assert seen == 3000, seen
    # After compaction the same records are still served from the archives.
    again = [json.loads(line) for line in zsat("export", "--dir", tmp, "--channel", "crit",
                                               "--format", "jsonl").splitlines()]
    assert again == expected
    print(f"buffer_h5py: {seen} records in {len(files)} HDF5 files match the log field by field")
