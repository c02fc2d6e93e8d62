"""The PYNQ driver against the simulated overlay: driver packing + shell + core RTL (Verilator) + unpacking
== the bit-exact simulator, with the AXI DMA's transfer semantics (MM2S tlast, S2MM ends at tlast).

The trained-network test runs the bundle that ``sbnn deploy`` writes for a run (the standalone driver
file itself) on >= 1,000 real inputs.
"""

from __future__ import annotations

import importlib.util
import json
import sys

import numpy as np
import pytest

from sbnn.arch import folding
from sbnn.errors import HardwareError
from sbnn.hw.pynq.driver import Accelerator, DmaFormat
from sbnn.hw.pynq.shell import QUEUE_DEPTH, sim_design, with_shell
from sbnn.hw.pynq.sim import SimOverlay, allocate
from sbnn.hw.rtl.design import GenOptions, generate
from sbnn.hw.rtlsim import verilator as rtlsim
from sbnn.hw.stream import pack_input
from sbnn.ir.synthetic import random_input, random_model
from sbnn.sim.bitexact import Simulator
from sbnn.tools import require_tool

pytestmark = pytest.mark.rtl


def _mlp(ppb=None, name="pov"):
    m = random_model(np.random.default_rng(3), input_shape=(4, 4, 1), convs=(), pool=False, dense=(16,),
                     sparsity=0.8, name=name)
    m = folding.apply(m, {layer.name: {"PE": 2, "SIMD": 4 if layer.in_features % 4 == 0 else 1} for layer in m.mvus})
    return m, generate(m, GenOptions(pixels_per_beat=ppb))


def _conv_scores(hwt):
    """A score layer per pixel (4 output beats per frame) on signed 4-bit input: 16-bit score fields."""
    m, _ = hwt.layer_model(np.random.default_rng(5), "conv", shape=(2, 2, 3), m=6, in_bits=4, signed=True,
                           output=True, kernel=2, pad=1, levels=None, name="povc")
    return m, generate(m)


@pytest.fixture(scope="module")
def designs(hwt):
    hwt.need_verilator()
    return {"mlp_u8": _mlp(), "mlp_ppb16": _mlp(16, "povp"), "conv_scores": _conv_scores(hwt)}


@pytest.mark.parametrize("name, batch", [("mlp_u8", 37), ("mlp_ppb16", 64), ("conv_scores", 25)])
def test_driver_on_simulated_overlay_equals_bitexact(tmp_path, designs, name, batch):
    model, design = designs[name]
    x = random_input(np.random.default_rng(11), model.input, 150)
    ol = SimOverlay(design, tmp_path)
    acc = Accelerator(ol.axi_dma_0, DmaFormat.of(design.stream), allocate, gain=model.head.gain,
                      bias=model.head.bias, batch=batch)
    want = Simulator(model).run(x)
    assert np.array_equal(acc.scores(x), want.scores)
    assert [t.frames for t in ol.transfers] == [batch] * (150 // batch) + ([150 % batch] if 150 % batch else [])
    assert np.array_equal(acc.logits(x[:40], batch=40), want.logits[:40])
    assert np.array_equal(acc.predict(x[:40], batch=40), want.predictions[:40])
    # a steady stream at full DMA rate: close to the cycle model's frames/s
    fps = ol.simulated_fps()
    assert 0.5 * design.perf.fps(100.0) < fps <= design.perf.fps(100.0) * 1.01


def test_batch_tlast_follows_the_mm2s_tlast(tmp_path, designs):
    """tlast on the output exactly on the last beat of every frame that ended (or carried) an input tlast,
    with more batch ends in flight than the shell's queue holds."""
    model, design = designs["conv_scores"]
    sim = sim_design(design)
    frames = 14
    x = random_input(np.random.default_rng(2), model.input, frames)
    fmt = DmaFormat.of(design.stream)
    beats = np.zeros((frames * fmt.in_beats, fmt.in_bus // 8 + 1), np.uint8)
    beats[:, :-1] = pack_input(fmt, x)
    assert fmt.in_beats > 1
    ends = {0, 1, 2, 3, 4, 5, 9, 13}  # frames closing a batch; frame 9's tlast comes mid-frame
    for f in ends:
        beats[f * fmt.in_beats + (0 if f == 9 else fmt.in_beats - 1), -1] = 1
    assert len(ends) > QUEUE_DEPTH
    res = rtlsim.run(rtlsim.build([sim], tmp_path), [beats])[0]
    per = fmt.out_beats
    last = np.zeros(frames * per, bool)
    last[[f * per + per - 1 for f in ends]] = True
    assert np.array_equal(res.out_last, last)
    from sbnn.hw.stream import unpack_output

    assert np.array_equal(unpack_output(fmt, res.out_data), Simulator(model).run(x).scores)


def test_s2mm_semantics_are_enforced(tmp_path, designs):
    _, design = designs["mlp_u8"]
    ol = SimOverlay(design, tmp_path)
    fmt = DmaFormat.of(design.stream)
    x = random_input(np.random.default_rng(0), design.model.input, 4)
    send = pack_input(fmt, x)
    ol.axi_dma_0.recvchannel.transfer(allocate((3 * fmt.out_beats, fmt.out_bus // 8)))  # one frame too short
    ol.axi_dma_0.sendchannel.transfer(send)
    with pytest.raises(HardwareError, match="S2MM received 4 beats up to tlast"):
        ol.axi_dma_0.recvchannel.wait()
    ol.axi_dma_0.recvchannel.transfer(allocate((4, fmt.out_bus // 8)))
    with pytest.raises(HardwareError, match="needs a send and a receive transfer"):
        ol.axi_dma_0.recvchannel.wait()


def test_shell_is_lint_clean(tmp_path, designs):
    for name, (_, design) in designs.items():
        folder = tmp_path / name
        files = []
        for fname, text in with_shell(design).items():
            (folder / fname).parent.mkdir(parents=True, exist_ok=True)
            (folder / fname).write_text(text)
            files.append(folder / fname)
        proc = require_tool("verilator").run(["--lint-only", "-Wall", "--top-module", f"{design.name}_pynq", *files],
                                             cwd=folder, check=False)
        assert proc.returncode == 0, (proc.stdout + proc.stderr)[-3000:]


def _import(path):
    spec = importlib.util.spec_from_file_location("sbnn_pynq_bundle", path)
    mod = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = mod
    try:
        spec.loader.exec_module(mod)
    finally:
        del sys.modules[spec.name]
    return mod


def test_trained_network_bundle_on_simulated_overlay(tmp_path, hwt):
    """The main job's architecture, trained briefly, exported, generated, deployed: the bundled
    standalone driver on the simulated overlay == the bit-exact simulator on >= 1,000 real inputs."""
    hwt.need_verilator()
    from sbnn.export.config import ExportConfig
    from sbnn.export.pipeline import export
    from sbnn.hw.config import HwConfig
    from sbnn.hw.pynq.deploy import deploy
    from sbnn.hw.stage import run_stage
    from sbnn.runs import RunDir
    from sbnn.training.config import TrainConfig
    from sbnn.training.trainer import train

    cfg = TrainConfig.resolve(overrides=["model.arch=sfc", "data.input=multibit", "quant.method=ab-closed",
                                         "quant.sparsity=0.9", "optim.epochs=1", "data.train_subset=600"])
    run = RunDir(tmp_path / "run")
    train(cfg, run, log=lambda m: None)
    export(run, ExportConfig(samples=1200), log=lambda m: None)
    stage = run_stage(run, HwConfig.resolve(None, [], target_fps=200_000, synth=False))
    res = deploy(run, build=False, samples=1200)
    pq = res.folder / "pynq"
    deployed = {p.name: p.read_text() for p in (res.folder / "vivado" / "rtl").glob("*.v")}
    assert deployed == with_shell(stage.design)  # the overlay simulates exactly the packaged RTL
    drv = _import(res.driver)
    desc = json.loads((pq / "sbnn.json").read_text())
    ol = SimOverlay(stage.design, tmp_path / "sim")
    acc = drv.Accelerator.from_overlay(ol, desc, allocate, batch=256)
    data = np.load(pq / "samples.npz")
    x = data["x"]
    assert len(x) >= 1000
    scores = acc.scores(x)
    sim = Simulator(stage.design.model).run(x)
    assert np.array_equal(scores, sim.scores) and np.array_equal(scores, data["scores"])
    assert np.array_equal(acc.predict(x), sim.predictions)
    tp = acc.measure(x[:512], repeats=1)
    print(f"\n{len(x)} inputs equal; simulated hardware {ol.simulated_fps():,.0f} frames/s at 100 MHz "
          f"(cycle model {stage.design.perf.fps(100.0):,.0f}); simulated overlay wall clock "
          f"{tp.frames_per_second:,.0f} frames/s")



FAKE_PYNQ = """# pynq stand-in for the test: Overlay is the simulated overlay of the pickled design
import os
import pickle

from sbnn.hw.pynq.sim import SimOverlay, allocate  # noqa: F401 (the driver imports allocate from pynq)


def Overlay(bitfile, download=True):
    assert bitfile.endswith("sbnn.bit"), bitfile
    with open(os.environ["SBNN_TEST_DESIGN"], "rb") as fh:
        return SimOverlay(pickle.load(fh), os.environ["SBNN_TEST_WORK"])
"""


def test_bundled_example_runs_against_the_simulated_overlay(tmp_path, hwt):
    """example.py of the bundle, unchanged, with a 'pynq' module whose Overlay is the simulated one."""
    import os
    import pickle
    import subprocess

    from sbnn.hw.config import HwConfig
    from sbnn.hw.pynq.deploy import deploy
    from sbnn.hw.stage import run_stage
    from sbnn.ir import save
    from sbnn.runs import RunDir

    hwt.need_verilator()
    model, _ = _mlp(name="povx")
    run = RunDir(tmp_path / "run")
    save(model, run.stage("export") / "ir")
    x = random_input(np.random.default_rng(4), model.input, 300)
    np.savez_compressed(run.stage("export") / "samples.npz", x=x.astype(np.int32), y=np.arange(300) % 10)
    design = run_stage(run, HwConfig.resolve(None, [], synth=False)).design
    pq = deploy(run, build=False).folder / "pynq"
    (tmp_path / "fake").mkdir()
    (tmp_path / "fake" / "pynq.py").write_text(FAKE_PYNQ)
    with open(tmp_path / "design.pkl", "wb") as fh:
        pickle.dump(design, fh)
    env = dict(os.environ, PYTHONPATH=str(tmp_path / "fake"), SBNN_TEST_DESIGN=str(tmp_path / "design.pkl"),
               SBNN_TEST_WORK=str(tmp_path / "work"))
    proc = subprocess.run([sys.executable, "example.py"], cwd=pq, env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    lines = proc.stdout.splitlines()
    assert lines[0] == "300 inputs: 300 equal to the bit-exact simulator, 0 differ"
    want = np.mean(Simulator(model).run(x).predictions == np.arange(300) % 10)
    assert lines[1] == f"accuracy {want:.4f} on 300 labelled inputs" and "frames/s" in lines[2]
