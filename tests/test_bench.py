"""The benchmarks run (smoke mode, seconds) and write valid records; the FLOP count is right."""
import json
import os
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


def test_paper_gpu_runs_a_profile_and_writes_its_records(tmp_path):
    # the GPU driver in the smoke profile on this CPU: one training alone, its record, its history
    # and its benchmark records (named by how the runs shared the device; the 5-minute target is the paper
    # profile's), nothing under results/; under a wall-clock budget that its first epoch exceeds, the
    # training stops after that epoch and its record says so
    env = {**os.environ, "PROFILE": "smoke"}
    subprocess.run([sys.executable, str(ROOT / "benchmarks" / "paper_gpu.py"), "--out", str(tmp_path), "--runs", "4way:0",
                    "--max-minutes", "0.001"], check=True, capture_output=True, text=True, env=env, cwd=ROOT)
    (rec,) = json.loads((tmp_path / "pytorch_smoke.json").read_text())
    assert (rec["model"], rec["scheme"], rec["seed"], rec["profile"]) == ("C2", "4way", 0, "smoke")
    assert rec["epochs"] == 1 and rec["stop_reason"] == "time budget"
    assert set(json.loads((tmp_path / "pytorch_smoke_histories.json").read_text())) == {"C2 4way seed 0"}
    bench = {r["name"]: r for r in json.loads((tmp_path / "bench_smoke_runs.json").read_text())}
    assert all(set(r) == FIELDS for r in bench.values())
    assert {"smoke profile C2 4way_seed0: epoch time", "smoke profile C2 4way_seed0: training images/s",
            "smoke profile, one run alone: training images/s", "smoke profile, one run alone: end to end"} <= set(bench)
    end_to_end = bench["smoke profile, one run alone: end to end"]
    assert end_to_end["target"] is None and end_to_end["value"] > bench["smoke profile C2 4way_seed0: epoch time"]["value"]
