"""The benchmarks run (smoke mode, seconds) and write valid records; the FLOP count is right."""
import json
import subprocess
import sys
from pathlib import Path

from helpers import models_torch

ROOT = Path(__file__).resolve().parents[1]
FIELDS = {"name", "device", "value", "unit", "target", "higher_is_better", "batch", "notes"}


def test_training_flops_of_c2():
    # conv MACs: 32*49*94^2 + 64*800*43^2 + 64*1600*39^2 + 128*576*17^2; dense 8192*256 + 256*256 + 256*4
    macs = 32 * 49 * 94 ** 2 + 64 * 800 * 43 ** 2 + 64 * 1600 * 39 ** 2 + 128 * 576 * 17 ** 2 \
        + 8192 * 256 + 256 * 256 + 256 * 4
    assert models_torch.training_flops(models_torch.build_model("C2", 4, 100)) == 6 * macs


def test_bench_smoke_writes_valid_records(tmp_path):
    out = tmp_path / "bench.json"
    (tmp_path / "bench.json").write_text(json.dumps([{**dict.fromkeys(FIELDS), "name": "kept", "device": "other"}]))
    subprocess.run([sys.executable, str(ROOT / "benchmarks" / "bench.py"), "--smoke", "--out", str(out)],
                   check=True, capture_output=True, text=True)
    recs = json.loads(out.read_text())
    assert recs[0]["name"] == "kept"  # records of other devices are merged, not overwritten
    names = {r["name"] for r in recs}
    assert len(recs) >= 12 and all(set(r) == FIELDS for r in recs)
    assert any("matrix product" in n for n in names) and any("C2 training" in n for n in names)
    assert any("naive text loader" in n for n in names) and any("peak RSS" in n for n in names)
    assert any("default allocator" in n for n in names) and any("bfloat16 matmul" in n for n in names)
    assert all(isinstance(r["value"], float) and r["value"] == r["value"] for r in recs[1:])  # no NaN
    assert all(r["notes"].startswith("smoke run") for r in recs[1:])
