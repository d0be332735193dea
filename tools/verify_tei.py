"""For encoders: check files of the edition against its own schema and rules AND tei_all.

usage: .venv/bin/python tools/verify_tei.py tei/d000.xml [...]
Runs `editio check --strict FILES` (the edition's schema editio.rng and every rule: witness,
pointers, notes, certainty) and then `editio check --schema tei_all.rng FILES` (proof that the
TEI is TEI).  Prints OK when both pass.
"""
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parents[1]
TEI_ALL = HERE.parent / "shared" / "corpora" / "schema" / "tei_all.rng"
files = sys.argv[1:] or sorted(str(p) for p in (HERE / "tei").glob("*.xml"))
ok = True
for extra in ([], ["--schema", str(TEI_ALL)]):
    r = subprocess.run([sys.executable, "-m", "editio", "check", "--strict", *extra, *files], cwd=HERE)
    ok = ok and r.returncode == 0
print("OK" if ok else "FAILED")
sys.exit(0 if ok else 1)
