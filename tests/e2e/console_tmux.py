#!/usr/bin/env python3
# SPDX-License-Identifier: MPL-2.0
"""console_tmux - `zsat up` and `zsat watch` in a real terminal (tmux) at 80x24 and 200x50:
no line of the screen is wider than the terminal (tmux's joined capture shows a wrapped
line as one long line), the title is on the first row, and after `tmux resize-window`
mid-run the screen holds exactly what the last frame drew: no fragment of an earlier one.
The last frame is read from the raw bytes the program wrote (tmux pipe-pane): each row
`ESC[<row>;1H ESC[2K text`, then `ESC[<row>;1H ESC[J` clears what is below.
"""
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

ZSAT = os.environ.get("ZSAT_BIN")

TOPOLOGY = """name: {name}
run_dir: {run}
hosts:
  a: {{address: 127.0.0.1}}
nodes:
  cpu: {{kind: cpu, host: a}}
  mem: {{kind: mem, host: a}}
  csv: {{kind: csv, host: a}}
  hdf5: {{kind: hdf5, host: a}}
links:
  - cpu -> csv
  - cpu -> hdf5
  - mem -> csv
schedules:
  - {{type: cpu, every: 200ms}}
  - {{type: mem, every: 200ms}}
"""


def skip(why):
    print("skip:", why)
    raise SystemExit(77)


class Tmux:
    def __init__(self, tmp, name, run):
        self.socket = f"console-{name}-{os.getpid()}"
        self.tmp = tmp
        self.run = run

    def __call__(self, *args, check=True):
        out = subprocess.run(["tmux", "-L", self.socket, "-f", "/dev/null", *args],
                             capture_output=True, text=True, timeout=30)
        if check:
            assert out.returncode == 0, (args, out.stderr)
        return out.stdout

    def start(self, session, command, width, height, extra=()):
        self("new-session", "-d", "-s", session, "-x", str(width), "-y", str(height),
             "env", "-u", "COLUMNS", "-u", "LINES", "-u", "NO_COLOR", "TERM=xterm-256color",
             "ZSAT_RUN_DIR=" + self.run, *extra, *command)
        self("set-option", "-t", session, "remain-on-exit", "on")
        self.log = os.path.join(self.tmp, session + ".raw")
        self("pipe-pane", "-t", session, "-o", "cat >> " + self.log)

    def screen(self, session, joined=True):
        args = ["capture-pane", "-p", "-t", session] + (["-J"] if joined else [])
        lines = self(*args).split("\n")
        return [line for line in lines if not line.startswith("Pane is dead")]

    def kill(self):
        self("kill-server", check=False)


def parse_frames(raw, height):
    """The frames drawn row by row in the raw output, each as {row: text}, oldest first."""
    text = raw.decode("utf-8", "replace")
    starts = [m.start() for m in re.finditer(re.escape("\x1b[1;1H\x1b[2K"), text)]
    assert starts, "no frame drawn row by row (ESC[1;1H ESC[2K): " + repr(text[-300:])
    result = []
    for start, end in zip(starts, starts[1:] + [len(text)]):
        rows = {}
        parts = re.split(r"\x1b\[(\d+);1H", text[start:end])
        for number, body in zip(parts[1::2], parts[2::2]):
            if body.startswith("\x1b[2K"):
                rows[int(number)] = re.sub(r"\x1b\[[0-9;?]*[ -/]*[@-~]", "", body[4:])
            elif body.startswith("\x1b[J"):
                for r in range(int(number), height + 1):
                    rows[r] = ""
        result.append(rows)
    return result


def shape(line):
    """A row without its figures, which change from one frame to the next."""
    return re.sub(r" +", " ", re.sub(r"[0-9.:]+", "#", line.rstrip()))


def frames(path, title):
    try:
        return open(path, "rb").read().count(title.encode())
    except FileNotFoundError:
        return 0


def wait(check, seconds, what):
    until = time.time() + seconds
    while time.time() < until:
        if check():
            return
        time.sleep(0.25)
    raise AssertionError(f"{what} within {seconds} s")


def check_screen(tmux, session, width, height, title, what):
    # wait for two frames drawn after now, so the screen is one frame at this size
    seen = frames(tmux.log, title)
    wait(lambda: frames(tmux.log, title) >= seen + 2, 60, f"{what}: two frames at {width}x{height}")
    time.sleep(0.3)  # tmux has drawn what it read
    screen = tmux.screen(session)
    print(f"--- {what} at {width}x{height}:")
    print("\n".join(screen))
    long = [line for line in screen if len(line) > width]
    assert not long, f"{what}: lines wider than {width}: {long}"
    assert screen[0].startswith(title), f"{what}: title gone, first row {screen[0]!r}"
    assert len(tmux.screen(session, False)) >= height
    # the screen is exactly one of the last frames: nothing left of an earlier, larger one
    # (one of the last three, as a frame may arrive between the capture and the read)
    plain = tmux.screen(session, False)
    got = [shape(plain[r]) if r < len(plain) else "" for r in range(height)]
    candidates = parse_frames(open(tmux.log, "rb").read(), height)[-3:]
    for rows in candidates:
        want = [shape(rows.get(r + 1, "")[:width]) for r in range(height)]
        if want == got:
            return
    rows = candidates[-1]
    diff = [(r + 1, got[r], shape(rows.get(r + 1, "")[:width])) for r in range(height)
            if got[r] != shape(rows.get(r + 1, "")[:width])]
    raise AssertionError(f"{what}: the screen is not what the last frame drew "
                         f"(row, screen, frame): {diff}")


def check_up(tmux):
    check_screen(tmux, "up", 80, 24, "zsat up", "zsat up")
    tmux("resize-window", "-t", "up", "-x", "200", "-y", "50")
    check_screen(tmux, "up", 200, 50, "zsat up", "zsat up after a resize")
    tmux("resize-window", "-t", "up", "-x", "60", "-y", "12")
    check_screen(tmux, "up", 60, 12, "zsat up", "zsat up after a resize")
    # shorter than the table: the frame never scrolls, the footer counts what is hidden
    tmux("resize-window", "-t", "up", "-x", "70", "-y", "6")
    check_screen(tmux, "up", 70, 6, "zsat up", "zsat up after a resize")
    assert "more instances not shown" in tmux.screen("up", False)[5], tmux.screen("up", False)


def main():
    if not ZSAT:
        skip("ZSAT_BIN not set")
    if not shutil.which("tmux"):
        skip("no tmux (bash scripts/setup installs it)")
    tmp = tempfile.mkdtemp(prefix="zsat-console-tmux-")
    run = os.path.join(tmp, "run")
    name = f"consoletmux{os.getpid()}"
    topology = os.path.join(tmp, "t.yaml")
    with open(topology, "w") as f:
        f.write(TOPOLOGY.format(name=name, run=run))
    tmux = Tmux(tmp, "t", run)
    try:
        only = sys.argv[1] if len(sys.argv) > 1 else ""  # "watch": skip up's checks
        tmux.start("up", [ZSAT, "up", topology, "--duration", "300"], 80, 24)
        wait(lambda: any("csv.0" in line and "running" in line for line in tmux.screen("up")),
             90, "zsat up shows csv.0 running")
        if only != "watch":
            check_up(tmux)

        # zsat status through a pipe: $COLUMNS is the width, no colour, all of it on 80
        for columns in ("80", "200"):
            out = subprocess.run([ZSAT, "status", "--topology", topology], capture_output=True,
                                 text=True, timeout=30, env=dict(os.environ, COLUMNS=columns))
            assert out.returncode == 0, out.stderr
            print(out.stdout)
            lines = out.stdout.splitlines()
            assert lines[0].startswith("tracker "), lines[0]
            assert all(len(line) <= int(columns) for line in lines), (columns, out.stdout)
            assert "\x1b" not in out.stdout, "colour on a pipe"
            assert any(line.split()[:2] == ["HOST", "STAGE"] for line in lines), out.stdout

        up_log = tmux.log
        tmux.start("watch", [ZSAT, "watch", "--topology", topology], 80, 24)
        wait(lambda: any("VEC/S" in line for line in tmux.screen("watch")), 60,
             "zsat watch shows the table")
        check_screen(tmux, "watch", 80, 24, "zsat watch", "zsat watch")
        tmux("resize-window", "-t", "watch", "-x", "200", "-y", "50")
        check_screen(tmux, "watch", 200, 50, "zsat watch", "zsat watch after a resize")
        tmux("resize-window", "-t", "watch", "-x", "80", "-y", "24")
        check_screen(tmux, "watch", 80, 24, "zsat watch", "zsat watch after a resize")
        screen = "\n".join(tmux.screen("watch"))
        assert "late" not in screen.split("faults:")[1].split("info:")[0], \
            "late events are listed as faults"
        # colour on a terminal (the header is bold), none with NO_COLOR
        coloured = tmux("capture-pane", "-p", "-e", "-t", "watch")
        assert "\x1b[1m" in coloured, "no colour on a terminal: " + repr(coloured[:300])
        tmux.start("plain", [ZSAT, "watch", "--topology", topology], 80, 24, ["NO_COLOR=1"])
        wait(lambda: any("VEC/S" in line for line in tmux.screen("plain")), 60,
             "zsat watch with NO_COLOR shows the table")
        plain = tmux("capture-pane", "-p", "-e", "-t", "plain")
        assert "\x1b[1m" not in plain and "\x1b[31m" not in plain, \
            "colour despite NO_COLOR: " + repr(plain[:300])
        tmux("send-keys", "-t", "plain", "C-c")

        # Ctrl-C ends both in order
        tmux("send-keys", "-t", "watch", "C-c")
        tmux("send-keys", "-t", "up", "C-c")
        tmux.log = up_log
        # (read from its output: at 70x6 the summary scrolls past the screen)
        wait(lambda: b"stopped after" in open(up_log, "rb").read(), 90,
             "zsat up stops on Ctrl-C")
    finally:
        tmux.kill()
        # nothing of this run may survive it
        for pid in os.listdir("/proc"):
            if pid.isdigit() and int(pid) != os.getpid():
                try:
                    env = open(f"/proc/{pid}/environ", "rb").read().split(b"\0")
                    if ("ZSAT_RUN_DIR=" + run).encode() in env:
                        os.kill(int(pid), 9)
                except (OSError, ProcessLookupError):
                    pass
        shutil.rmtree(tmp, ignore_errors=True)
    print("OK")


if __name__ == "__main__":
    main()
