"""Benchmark: editio's whole site build of a FRUS volume beside the TEI Stylesheets' html5
conversion of the same file, in one run.

usage: .venv/bin/python benchmarks/frus_site.py [VOLUME.xml] [--profile NAME] [--repeat N]

* editio: ``editio build --format html`` (check, pages, indexes, search) of a temporary
  project holding only the volume, as a child process; with the FRUS profile when editio
  ships one (``--profile frus``: the volume builds with no error, so no ``--keep-going``),
  else ``--keep-going`` against tei_all.rng;
* the anchor: ``../shared/anchors/teistyle_html.py`` (the TEI Stylesheets 7.58 html5
  conversion run by SaxonC-HE, ``pip install .[bench]``), also a child process; the
  Stylesheets are read where they lie, never copied into the project.

Prints both wall times, the ratio editio / Stylesheets, the peak memory of each (max RSS of
the child's whole process tree, polled with psutil, and ``getrusage(RUSAGE_CHILDREN)``) and
the CPU time over wall time of editio's build (how much of both cores it uses).  The target
(issue 9): editio <= 0.5x the Stylesheets' wall time, peak <= 200 MB.  Figures are for one run
on this machine: compare ratios, not absolute seconds.
"""
from __future__ import annotations

import argparse
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parents[1]
SHARED = HERE.parent / "shared"
if not SHARED.is_dir():  # run from a worktree: /work/wt-x -> /work/shared
    SHARED = Path("/work/shared")
FRUS = SHARED / "corpora" / "frus"
TEI_ALL = SHARED / "corpora" / "schema" / "tei_all.rng"
ANCHORS = SHARED / "anchors"


def run(cmd: list[str], env: dict | None = None) -> dict:
    """Run ``cmd``; wall seconds, CPU seconds and peak RSS (MB) of its process tree."""
    import psutil
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    ps = psutil.Process(proc.pid)
    peak_tree = peak_pss = 0
    while proc.poll() is None:
        rss = pss = 0
        try:
            procs = [ps, *ps.children(recursive=True)]
        except psutil.Error:
            procs = []
        for p in procs:
            try:
                rss += p.memory_info().rss
                pss += getattr(p.memory_full_info(), "pss", 0)
            except psutil.Error:
                pass
        peak_tree = max(peak_tree, rss)
        peak_pss = max(peak_pss, pss)
        time.sleep(0.05)
    out, err = proc.communicate()
    wall = time.perf_counter() - t
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    if proc.returncode:
        sys.exit(f"{' '.join(cmd)} failed ({proc.returncode}):\n{err[-3000:]}")
    return {"wall": wall, "cpu": cpu, "tree_mb": peak_tree / 2**20, "pss_mb": peak_pss / 2**20,
            "maxrss_mb": after.ru_maxrss / 1024, "stdout": out, "stderr": err}


def has_profile(name: str) -> bool:
    r = subprocess.run([sys.executable, "-m", "editio", "build", "--help"], capture_output=True,
                       text=True)
    return "--profile" in r.stdout and name


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("volume", nargs="?", default=str(FRUS / "frus1955-57v23p2.xml"))
    ap.add_argument("--profile", default="frus")
    ap.add_argument("--schema", help="validate against this schema (default: the profile's; "
                    "without a profile option, tei_all.rng)")
    args = ap.parse_args()
    volume = Path(args.volume).resolve()
    if not volume.is_file():
        sys.exit(f"no volume at {volume}")
    env = {**os.environ, "PYTHONPATH": str(HERE / "src") + os.pathsep + os.environ.get("PYTHONPATH", "")}
    # editio as installed: byte-compiled, as pip compiles a package it installs (a checkout
    # run under PYTHONDONTWRITEBYTECODE=1 would compile every module again in each build,
    # ~0.2 s); the libraries in the virtualenv are compiled already
    import compileall
    compileall.compile_dir(str(HERE / "src" / "editio"), quiet=1)
    load = os.getloadavg()
    with tempfile.TemporaryDirectory(prefix="editio-bench-") as tmp:
        project = Path(tmp) / "volume"
        (project / "tei").mkdir(parents=True)
        shutil.copy(volume, project / "tei" / volume.name)
        cmd = [sys.executable, "-m", "editio", "build", "--project", str(project), "--format", "html",
               "--quiet"]
        if has_profile(args.profile):
            cmd += ["--profile", args.profile]
            how = f"--profile {args.profile}"
        else:
            cmd += ["--keep-going"]
            how = "--keep-going (no profile option yet)"
            if not args.schema:
                args.schema = str(TEI_ALL)
        if args.schema:
            cmd += ["--schema", str(Path(args.schema).resolve())]
            how += f" --schema {Path(args.schema).name}"
        env["EDITIO_CACHE"] = str(Path(tmp) / "cache")   # cold: nothing validated before
        ed = run(cmd, env)
        site = project / "build" / "html"
        pages = len(list(site.glob("*.html")))
        # again with --no-cache (nothing read from any cache: a full rebuild over the previous
        # output, validation included); then once more with the caches: nothing changed
        warm = run(cmd + ["--no-cache"], env)
        same = run(cmd, env)
        anchor_out = Path(tmp) / "stylesheets.html"
        ss = run([sys.executable, str(ANCHORS / "teistyle_html.py"), str(ANCHORS / "tei-stylesheets"),
                  str(volume), str(anchor_out)])
    ratio = ed["wall"] / ss["wall"]
    print(f"volume: {volume.name} ({volume.stat().st_size / 2**20:.1f} MB); load average "
          f"{load[0]:.1f} at the start, {os.getloadavg()[0]:.1f} at the end (walls are only "
          "comparable on an idle machine; the ratio compares two runs under the same load)")
    print(f"editio build --format html {how}: wall {ed['wall']:.1f}s, cpu {ed['cpu']:.1f}s "
          f"({ed['cpu'] / ed['wall']:.2f} cores), peak {ed['pss_mb']:.0f} MB (PSS of the process "
          f"tree; RSS summed {ed['tree_mb']:.0f} MB counts shared pages twice), max RSS of one "
          f"process {ed['maxrss_mb']:.0f} MB, {pages} pages")
    print(f"  the same build again with --no-cache (a full rebuild over the first's output): "
          f"wall {warm['wall']:.1f}s, cpu {warm['cpu']:.1f}s, ratio {warm['wall'] / ss['wall']:.2f}x")
    print(f"  and once more with the build cache (nothing changed): wall {same['wall']:.1f}s, "
          f"cpu {same['cpu']:.1f}s")
    print(f"TEI Stylesheets html5 (SaxonC-HE): wall {ss['wall']:.1f}s, cpu {ss['cpu']:.1f}s, "
          f"peak {ss['tree_mb']:.0f} MB ({ss['stdout'].strip()})")
    print(f"ratio editio/Stylesheets: {ratio:.2f}x (target <= 0.5x); "
          f"editio peak {ed['pss_mb']:.0f} MB (target <= 200 MB); "
          f"cpu ratio {ed['cpu'] / max(ss['cpu'], 0.01):.2f}x")


if __name__ == "__main__":
    main()
