"""``sbnn deploy``: the Vivado project and the board bundle are complete and consistent with the design.

The generated ``build.tcl`` is executed in a real Tcl interpreter (Python's tkinter) with Vivado's
commands recorded instead of run, so the checks read the block design the script would build
(cells, stream and clock/reset nets, DMA and PS7 settings) and compare it with the shell's Verilog
ports and the stream format. Vivado itself runs only under the ``vivado`` marker.
"""

from __future__ import annotations

import importlib.util
import json
import re
import subprocess
import sys

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from sbnn import tools
from sbnn.cli import main
from sbnn.errors import ConfigError, HardwareError, ToolNotFound
from sbnn.hw.config import HwConfig
from sbnn.hw.pynq.deploy import deploy, standalone_driver
from sbnn.hw.pynq.driver import DMA_WIDTHS, DmaFormat, dma_width
from sbnn.hw.stage import run_stage
from sbnn.hw.stream import StreamFormat, pack_input, unpack_output
from sbnn.ir import save
from sbnn.ir.synthetic import random_input, random_model
from sbnn.runs import RunDir

#: (input shape, pixels per beat) -> core input widths 8, 24 (bus 32) and 128 bits
DESIGNS = {"u8_ppb1": ((4, 4, 1), None), "u8_ppb3": ((3, 3, 1), 3), "u8_ppb16": ((4, 4, 1), 16)}


def make_run(path, shape=(4, 4, 1), ppb=None, samples: int = 40) -> tuple[RunDir, object]:
    """A run directory with an IR, real-looking samples and the hw stage (no synthesis)."""
    rng = np.random.default_rng(0)
    m = random_model(rng, input_shape=shape, convs=(), pool=False, dense=(16,), sparsity=0.7, name="dep")
    run = RunDir(path)
    save(m, run.stage("export") / "ir")
    x = random_input(rng, m.input, samples)
    np.savez_compressed(run.stage("export") / "samples.npz", x=x.astype(np.int32), y=np.arange(samples) % 10)
    sets = [f"pixels_per_beat={ppb}"] if ppb else []
    res = run_stage(run, HwConfig.resolve(None, sets, synth=False))
    return run, res.design


def ports(verilog: str, module: str) -> dict[str, int]:
    """Port name -> width of ``module`` in a Verilog text."""
    body = verilog[verilog.index(f"module {module} (") : verilog.index(");", verilog.index(f"module {module} ("))]
    out = {}
    for m in re.finditer(r"(input|output)\s+wire\s+(?:\[(\d+):0\]\s+)?(\w+)", body):
        out[m.group(3)] = int(m.group(2)) + 1 if m.group(2) else 1
    return out


def run_tcl(script, *, board_files: bool, prepare=None) -> list[list[str]]:
    """Source ``script`` with every Vivado command recorded; returns the calls (argv lists)."""
    tkinter = pytest.importorskip("tkinter")
    tcl = tkinter.Tcl()
    board = "tul.com.tw:pynq-z2:part0:1.0" if board_files else ""
    hwh = script.parent / "build" / "fake" / "sbnn_bd.hwh"
    bit = script.parent / "build" / "project" / "sbnn_pynq.runs" / "impl_1" / "sbnn_bd_wrapper.bit"
    for f in (hwh, bit):
        f.parent.mkdir(parents=True, exist_ok=True)
        f.write_text(f.name)
    tcl.eval("set ::calls {}")
    tcl.eval("proc unknown {args} { lappend ::calls $args; return [lindex $args end] }")
    tcl.eval("namespace eval ipx {}; proc ipx::current_core {} { return core }")
    tcl.eval(f"proc get_board_parts {{args}} {{ lappend ::calls [concat get_board_parts $args]; return {{{board}}} }}")
    tcl.eval("proc get_property {name args} { if {$name eq {PROGRESS}} { return 100% }; return 0.25 }")
    tcl.eval(f"proc get_files {{args}} {{ if {{[string match *.hwh [lindex $args end]]}} {{ return {{{hwh}}} }}; "
             "return [lindex $args end] }")
    tcl.eval(f"source {{{script}}}")
    return [list(tcl.splitlist(c)) for c in tcl.splitlist(tcl.eval("set ::calls"))]


def _dicts(calls, target: str) -> dict[str, str]:
    out = {}
    for c in calls:
        if c[0] == "set_property" and c[1] == "-dict" and c[-1] == target:
            items = c[2].split("CONFIG.")[1:]
            for item in items:
                key, value = item.split(" ", 1)
                out[key] = value.strip().strip("{}")
    return out


@pytest.mark.parametrize("name", list(DESIGNS))
@pytest.mark.parametrize("board_files", [False, True])
def test_vivado_project_matches_design(tmp_path, name, board_files):
    shape, ppb = DESIGNS[name]
    run, design = make_run(tmp_path / "run", shape, ppb)
    res = deploy(run, build=False)
    viv = res.folder / "vivado"
    desc = json.loads((res.folder / "pynq" / "sbnn.json").read_text())
    fmt = DmaFormat.from_json(desc["stream"])
    assert fmt == DmaFormat.of(design.stream) and fmt.core() == design.stream
    assert fmt.in_bus in DMA_WIDTHS and fmt.out_bus in DMA_WIDTHS and fmt.in_bus >= design.stream.in_width
    # RTL: the run's core files unchanged, then the shell; the filelist and the Tcl list the same files
    names = (viv / "filelist.f").read_text().split()
    assert names[:-1] == list(design.files) and names[-1] == f"{design.name}_pynq.v"
    for n in design.files:
        assert (viv / "rtl" / n).read_text() == design.files[n]
    shell = (viv / "rtl" / names[-1]).read_text()
    sp = ports(shell, desc["top"])
    assert sp == {"ap_clk": 1, "ap_rst_n": 1, "s_axis_tdata": fmt.in_bus, "s_axis_tlast": 1, "s_axis_tvalid": 1,
                  "s_axis_tready": 1, "m_axis_tdata": fmt.out_bus, "m_axis_tkeep": fmt.out_bus // 8,
                  "m_axis_tlast": 1, "m_axis_tvalid": 1, "m_axis_tready": 1}
    cp = ports(design.files[f"{design.top}.v"], design.top)
    assert cp["s_axis_tdata"] == design.stream.in_width and cp["m_axis_tdata"] == design.stream.out_width
    assert f"{design.top} u_core" in shell
    # the script, executed with Vivado's commands recorded
    calls = run_tcl(res.tcl, board_files=board_files)
    added = next(c for c in calls if c[0] == "add_files")
    assert [p.split("/")[-1] for p in added[-1].split()] == names
    assert ["create_project", "-force", "sbnn_ip", str(viv / "build" / "ip_project"), "-part", "xc7z020clg400-1"] in calls
    assert any(c[0] == "create_project" and c[2] == "sbnn_pynq" and c[-1] == "xc7z020clg400-1" for c in calls)
    assert ["set_property", "top", desc["top"], "current_fileset"] in calls
    assert any(c[0] == "ipx::package_project" for c in calls)
    for bus in ("s_axis", "m_axis"):
        assert ["ipx::associate_bus_interfaces", "-busif", bus, "-clock", "ap_clk", "core"] in calls
    cells = {c[-1]: c[c.index("-vlnv") + 1] for c in calls if c[0] == "create_bd_cell"}
    assert cells["sbnn_0"] == f"sbnn.org:sbnn:{desc['top']}:1.0"
    assert cells["axi_dma_0"].startswith("xilinx.com:ip:axi_dma:") and "ps7" in cells and "rst_ps7" in cells
    intf = {tuple(c[1:]) for c in calls if c[0] == "connect_bd_intf_net"}
    assert {("axi_dma_0/M_AXIS_MM2S", "sbnn_0/s_axis"), ("sbnn_0/m_axis", "axi_dma_0/S_AXIS_S2MM"),
            ("axi_smc_hp0/M00_AXI", "ps7/S_AXI_HP0"), ("ps7/M_AXI_GP0", "axi_smc_gp0/S00_AXI"),
            ("axi_smc_gp0/M00_AXI", "axi_dma_0/S_AXI_LITE")} <= intf
    nets = {c[1]: set(c[2:]) for c in calls if c[0] == "connect_bd_net"}
    assert {"sbnn_0/ap_clk", "axi_dma_0/m_axi_mm2s_aclk", "axi_dma_0/m_axi_s2mm_aclk", "axi_dma_0/s_axi_lite_aclk",
            "ps7/S_AXI_HP0_ACLK", "ps7/M_AXI_GP0_ACLK"} <= nets["ps7/FCLK_CLK0"]
    assert {"sbnn_0/ap_rst_n", "axi_dma_0/axi_resetn"} <= nets["rst_ps7/peripheral_aresetn"]
    used = {p.split("/")[1] for pins in [*intf, *nets.values()] for p in pins if p.startswith("sbnn_0/")}
    assert used == {"s_axis", "m_axis", "ap_clk", "ap_rst_n"} and all(b + "_tdata" in sp or b in sp for b in used)
    dma = _dicts(calls, "axi_dma_0")
    assert dma["c_include_sg"] == "0" and dma["c_sg_length_width"] == "26"
    assert int(dma["c_m_axis_mm2s_tdata_width"]) == sp["s_axis_tdata"] == fmt.in_bus
    assert int(dma["c_s_axis_s2mm_tdata_width"]) == sp["m_axis_tdata"] == fmt.out_bus
    assert int(dma["c_m_axi_mm2s_data_width"]) >= fmt.in_bus and int(dma["c_m_axi_s2mm_data_width"]) >= fmt.out_bus
    ps = _dicts(calls, "ps7")
    assert ps["PCW_FPGA0_PERIPHERAL_FREQMHZ"] == "100" == f"{desc['clock_mhz']:g}"
    assert ps["PCW_USE_S_AXI_HP0"] == "1" and ps["PCW_USE_M_AXI_GP0"] == "1"
    preset = any(c[0] == "apply_bd_automation" and "processing_system7" in c[2] for c in calls)
    assert preset == board_files and ("PCW_UIPARAM_DDR_PARTNO" in ps) == (not board_files)
    names_called = [c[0] for c in calls]
    for step in ("assign_bd_address", "validate_bd_design", "make_wrapper", "launch_runs", "wait_on_run"):
        assert step in names_called
    # outputs: bitstream and .hwh side by side for PYNQ, stamped with the sources' digest
    assert (res.folder / "pynq" / "sbnn.bit").read_text() == "sbnn_bd_wrapper.bit"
    assert (res.folder / "pynq" / "sbnn.hwh").read_text() == "sbnn_bd.hwh"
    assert (viv / "built.txt").read_text().strip() == desc["build_digest"]
    again = deploy(run, build=False)  # same sources: the bitstream is kept
    assert again.bitstream == res.folder / "pynq" / "sbnn.bit"


def test_bundle_is_complete_and_stale_bitstreams_are_removed(tmp_path):
    run, design = make_run(tmp_path / "run")
    res = deploy(run, build=False)
    pq = res.folder / "pynq"
    assert {p.name for p in pq.iterdir()} == {"sbnn_pynq.py", "sbnn.json", "samples.npz", "example.py", "README.md"}
    readme = (pq / "README.md").read_text()
    assert "@" not in readme.replace("xilinx@pynq", "") and "sbnn_pynq" in readme
    with np.load(pq / "samples.npz") as data:
        from sbnn.sim.bitexact import simulate

        assert np.array_equal(data["scores"], simulate(design.model, data["x"]).scores) and len(data["y"]) == 40
    (pq / "sbnn.bit").write_text("from other sources")
    (pq / "sbnn.hwh").write_text("from other sources")
    assert deploy(run, build=False).bitstream is None and not (pq / "sbnn.bit").exists()


def test_standalone_driver_needs_no_sbnn(tmp_path):
    (tmp_path / "sbnn_pynq.py").write_text(standalone_driver())
    code = ("import sys; sys.modules['sbnn'] = None\n"
            "import numpy as np, sbnn_pynq as d\n"
            "f = d.DmaFormat((2, 2, 3), 5, True, 2, 4, 16, True, 2, 32, 128)\n"
            "x = np.arange(-12, 12).reshape(2, 2, 2, 3) % 16 - 8\n"
            "w = d.pack_input(f, x); print(w.shape, int(w.sum()))\n"
            "try:\n    d.load('.')\nexcept ImportError as e:\n    print('no pynq:', e.name)\n")
    out = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    f = DmaFormat((2, 2, 3), 5, True, 2, 4, 16, True, 2, 32, 128)
    x = np.arange(-12, 12).reshape(2, 2, 2, 3) % 16 - 8
    want = pack_input(f, x)
    assert out.stdout.splitlines() == [f"{want.shape} {int(want.sum())}", "no pynq: pynq"]


@pytest.mark.parametrize("bits, width", [(1, 8), (8, 8), (9, 16), (24, 32), (80, 128), (1024, 1024)])
def test_dma_width_is_a_power_of_two_the_dma_accepts(bits, width):
    assert dma_width(bits) == width


def test_dma_format_packs_like_the_core_plus_zero_padding():
    core = StreamFormat((3, 3, 1), 8, False, 3, 10, 16, True, 1)
    dfmt = DmaFormat.of(core)
    assert (core.in_width, dfmt.in_bus, core.out_width, dfmt.out_bus) == (24, 32, 160, 256)
    x = np.random.default_rng(1).integers(0, 256, (5, 3, 3, 1))
    wide, narrow = pack_input(dfmt, x), pack_input(core, x)
    assert np.array_equal(wide[:, :3], narrow) and not wide[:, 3:].any()
    out = np.random.default_rng(2).integers(0, 256, (4, 20), dtype=np.uint8)
    padded = np.concatenate([out, np.full((4, 12), 0xFF, np.uint8)], axis=1)  # bus padding is ignored
    assert np.array_equal(unpack_output(dfmt, padded), unpack_output(core, out))
    assert DmaFormat.from_json(json.loads(json.dumps(dfmt.to_json()))) == dfmt
    with pytest.raises(HardwareError, match="wider than AXI DMA"):
        DmaFormat.of(StreamFormat((1, 1, 200), 8, False, 1, 10, 8, True, 1))


def test_dma_format_keeps_the_input_order():
    """A regrouped design's pixel order (sbnn.arch.regroup) travels in the board's description: the driver packs
    the permuted image, exactly as the RTL harness does."""
    order = tuple(int(v) for v in np.random.default_rng(0).permutation(9))
    core = StreamFormat((3, 3, 1), 8, False, 3, 10, 16, True, 1, in_order=order)
    dfmt = DmaFormat.of(core)
    assert dfmt.in_order == order and dfmt.core() == core
    assert DmaFormat.from_json(json.loads(json.dumps(dfmt.to_json()))) == dfmt
    x = np.random.default_rng(1).integers(0, 256, (5, 3, 3, 1))
    plain = StreamFormat((3, 3, 1), 8, False, 3, 10, 16, True, 1)
    moved = x.reshape(5, -1)[:, list(order)].reshape(x.shape)
    assert np.array_equal(pack_input(dfmt, x)[:, :3], pack_input(plain, moved))


def test_bad_input_is_one_clear_error(tmp_path, monkeypatch):
    with pytest.raises(ConfigError, match="run 'sbnn synth --run"):
        deploy(RunDir(tmp_path / "empty"))
    run, _ = make_run(tmp_path / "run")
    with pytest.raises(ConfigError, match="unknown board 'zedboard': sbnn deploys to pynq-z2"):
        deploy(run, "zedboard")
    monkeypatch.setattr("sbnn.hw.pynq.deploy.find_tool", lambda name: None)
    with pytest.raises(ToolNotFound, match=r"Vivado is not installed .*'vivado -mode batch -source build.tcl' there"):
        deploy(run, build=True)
    res = deploy(run)  # default: no Vivado is not an error, the project is written
    assert res.bitstream is None and "Vivado is not installed" in res.note and res.tcl.exists()


def _cli(capsys, *args) -> tuple[int, str]:
    code = main(["deploy", *args])
    return code, capsys.readouterr().err.strip()


def test_cli_messages(tmp_path, capsys, monkeypatch):
    code, err = _cli(capsys, "--run", str(tmp_path / "nothing"), "--no-build")
    assert code == 2 and err.startswith("sbnn deploy: error:") and "sbnn synth" in err and len(err.splitlines()) == 1
    run, _ = make_run(tmp_path / "run")
    code, err = _cli(capsys, "--run", str(run.path), "--board", "zcu104")
    assert code == 2 and "unknown board 'zcu104'" in err and len(err.splitlines()) == 1
    monkeypatch.setenv("PATH", "")
    monkeypatch.delenv("SBNN_VIVADO", raising=False)
    tools.find_tool.cache_clear()
    try:
        code, err = _cli(capsys, "--run", str(run.path), "--build")
        assert code == 2 and "Vivado is not installed" in err and len(err.splitlines()) == 1
    finally:
        tools.find_tool.cache_clear()
    assert main(["deploy", "--run", str(run.path), "--no-build"]) == 0


def test_standalone_module_is_the_bundled_file(tmp_path):
    run, _ = make_run(tmp_path / "run")
    res = deploy(run, build=False)
    assert res.driver.read_text() == standalone_driver()
    spec = importlib.util.spec_from_file_location("bundled_driver", res.driver)
    mod = importlib.util.module_from_spec(spec)
    sys.modules["bundled_driver"] = mod  # dataclasses resolve annotations through sys.modules
    try:
        spec.loader.exec_module(mod)
    finally:
        del sys.modules["bundled_driver"]
    assert mod.MAX_TRANSFER_BYTES == (1 << 26) - 1 and mod.DMA_NAME == "axi_dma_0"


@pytest.mark.vivado
def test_vivado_builds_the_overlay(tmp_path):
    if not tools.has_tool("vivado"):
        pytest.skip("Vivado is not installed (put 'vivado' on PATH or set SBNN_VIVADO)")
    run, _ = make_run(tmp_path / "run")
    res = deploy(run, build=True, timeout=3 * 3600)
    assert res.bitstream and res.bitstream.stat().st_size > 0 and (res.bitstream.parent / "sbnn.hwh").exists()


FAKE_VIVADO = """import pathlib, sys
args = sys.argv[1:]
assert args[:2] == ["-mode", "batch"] and args[args.index("-source") + 1] == "build.tcl", args
assert pathlib.Path("build.tcl").exists() and pathlib.Path("rtl").is_dir()
if "{fail}" == "yes":
    print("ERROR: [Common 17-39] 'launch_runs' failed due to earlier errors."); sys.exit(1)
out = pathlib.Path("..") / "pynq"
(out / "sbnn.bit").write_bytes(b"bit"); (out / "sbnn.hwh").write_text("<hwh/>")
"""


@pytest.mark.parametrize("fail", ["no", "yes"])
def test_vivado_is_run_in_the_project_folder_when_installed(tmp_path, monkeypatch, fail):
    """The orchestration around Vivado (a stand-in executable here; the real tool runs under 'vivado')."""
    fake = tmp_path / "vivado.py"
    fake.write_text(FAKE_VIVADO.replace("{fail}", fail))
    monkeypatch.setenv("SBNN_VIVADO", f"{sys.executable} {fake}")
    tools.find_tool.cache_clear()
    run, _ = make_run(tmp_path / "run")
    try:
        if fail == "yes":
            with pytest.raises(HardwareError, match="(?s)the Vivado build failed .*launch_runs"):
                deploy(run)
        else:
            res = deploy(run)
            assert res.bitstream == res.folder / "pynq" / "sbnn.bit" and res.bitstream.read_bytes() == b"bit"
    finally:
        tools.find_tool.cache_clear()


@st.composite
def _formats(draw):
    bits = draw(st.integers(1, 9))
    c, ppb = draw(st.integers(1, 6)), draw(st.sampled_from([1, 2, 4]))
    return StreamFormat((2, 2, c), bits, bits > 1 and draw(st.booleans()), ppb, draw(st.integers(1, 12)),
                        draw(st.sampled_from([8, 16, 32])), True, draw(st.integers(1, 3)))


@given(fmt=_formats(), seed=st.integers(0, 2**16))
def test_dma_packing_is_the_core_packing_plus_zero_bytes(fmt, seed):
    """For any stream format: DMA words = the core's tdata bytes followed by zero bytes, and scores
    read back from DMA words ignore whatever lies in the padding."""
    rng = np.random.default_rng(seed)
    d = DmaFormat.of(fmt)
    lo, hi = (-(1 << (fmt.in_bits - 1)), 1 << (fmt.in_bits - 1)) if fmt.in_signed else (0, 1 << fmt.in_bits)
    x = rng.integers(lo, hi, (3, *fmt.in_shape))
    wide, core = pack_input(d, x), pack_input(fmt, x)
    assert wide.shape == (3 * fmt.in_beats, d.in_bus // 8)
    assert np.array_equal(wide[:, : core.shape[1]], core) and not wide[:, core.shape[1] :].any()
    out = rng.integers(0, 256, (2 * fmt.out_beats, d.out_bus // 8), dtype=np.uint8)
    assert np.array_equal(unpack_output(d, out), unpack_output(fmt, out[:, : fmt.out_width // 8]))


def test_packaged_rtl_synthesizes_for_the_xc7z020(tmp_path, hwt):
    """Yosys' synth_xilinx accepts the shell + core exactly as packaged (what Vivado will read)."""
    hwt.need_yosys()
    run, _ = make_run(tmp_path / "run", (3, 3, 1), 3)
    viv = deploy(run, build=False).folder / "vivado"
    files = (viv / "filelist.f").read_text().split()
    top = json.loads((viv.parent / "pynq" / "sbnn.json").read_text())["top"]
    proc = tools.require_tool("yosys").run(
        ["-q", "-p", f"read_verilog {' '.join(files)}; synth_xilinx -top {top}; check -assert"], cwd=viv / "rtl",
        check=False)
    assert proc.returncode == 0, (proc.stdout + proc.stderr)[-3000:]
