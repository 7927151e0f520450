"""Compile checks of the CUDA sources without a GPU: nvcc (sm_90 cubin with register/spill report,
sm_80 PTX), NVRTC through CuPy's bindings with the binding's own name expressions, and the host
build of host_shim.cu with nvcc. Skips cleanly when nvcc / NVRTC are not installed."""
from __future__ import annotations

import re
import shutil
import subprocess

import pytest

from train.kernels import compile as kc

NVCC = shutil.which("nvcc")
needs_nvcc = pytest.mark.skipif(NVCC is None, reason="nvcc not installed")


def _instantiation_unit(tmp_path):
    """The inlined kernel source plus a table taking the address of every instantiation the
    binding can request (exactly the name expressions NVRTC is given)."""
    names = kc.all_name_expressions()
    table = "\n".join(f"    (const void*)&{n}," for n in names)
    path = tmp_path / "all_kernels.cu"
    path.write_text(kc.kernel_source() + "\nconst void* lgn_all_kernels[] = {\n" + table + "\n};\n")
    return path, names


def _ptxas_report(stderr: str) -> dict[str, dict[str, int]]:
    report, current, frame = {}, None, None
    for line in stderr.splitlines():
        m = re.search(r"Compiling entry function '(\w+)'", line)
        if m:
            current = m.group(1)
            continue
        m = re.search(r"(\d+) bytes stack frame, (\d+) bytes spill stores, (\d+) bytes spill loads", line)
        if m:
            frame = [int(v) for v in m.groups()]
            continue
        m = re.search(r"Used (\d+) registers", line)
        if m and current:
            report[current] = {"stack": frame[0], "spill_stores": frame[1], "spill_loads": frame[2],
                               "registers": int(m.group(1))}
            current = None
    return report


def test_sources_are_package_data_and_inline():
    names = {p.name for p in kc.source_files()}
    assert {"layer_kernels.cu", "lgn_math.cuh", "warp_reduce.cuh", "host_shim.cu"} <= names
    src = kc.kernel_source()
    assert '#include "' not in src and "#pragma once" not in src
    assert src.count("struct ReduceScatter") == 1  # each header inlined once


def test_name_expressions_cover_every_configuration():
    names = kc.all_name_expressions()
    assert len(names) == len(set(names)) == 6 * 2 * 2 * 3 + 2 * 3
    assert kc.iwp_forward_name(6, "sigmoid", True) == "iwp_forward<6, 1, true>"
    assert kc.config_names("original", 2, None, False) == (
        "orig_forward<false>", "orig_backward<false, true>", "orig_backward<false, false>")
    with pytest.raises(ValueError, match="unknown parametrisation"):
        kc.config_names("lut", 2, None, False)


@needs_nvcc
def test_nvcc_sm90_cubin_every_instantiation_without_spills(tmp_path):
    src, names = _instantiation_unit(tmp_path)
    proc = subprocess.run([NVCC, "-std=c++17", "-arch=sm_90", "-cubin", "-Xptxas", "-v", str(src),
                           "-o", str(tmp_path / "all.cubin")], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    report = _ptxas_report(proc.stderr)
    kernels = [k for k in report if k != "gather_rows"]
    assert len(kernels) == len(names) and "gather_rows" in report
    for name, r in report.items():
        assert r["spill_stores"] == 0 and r["spill_loads"] == 0, (name, r)
        # Local arrays would mean a lerp level was not unrolled into registers; the only frames
        # allowed are sinf's 32-byte slow-path reduction buffer.
        assert r["stack"] in (0, 32), (name, r)
    fwd6 = [r for k, r in report.items() if k.startswith("_Z11iwp_forwardILi6E")]
    assert len(fwd6) == 4 and all(r["registers"] <= 128 for r in fwd6)


@needs_nvcc
def test_nvcc_sm80_ptx(tmp_path):
    src, names = _instantiation_unit(tmp_path)
    out = tmp_path / "all.ptx"
    proc = subprocess.run([NVCC, "-std=c++17", "-arch=sm_80", "--ptx", str(src), "-o", str(out)],
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    entries = re.findall(r"\.visible \.entry (\w+)\(", out.read_text())
    assert len(entries) == len(names) + 1


@needs_nvcc
def test_nvcc_compiles_host_shim_as_host_code(tmp_path):
    proc = subprocess.run([NVCC, "-std=c++20", "-c", "-x", "cu", str(kc.source_path("host_shim.cu")),
                           "-o", str(tmp_path / "shim.o")], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr


def _nvrtc_or_skip():
    try:
        from cupy.cuda import nvrtc

        nvrtc.getVersion()
    except Exception as exc:  # cupy or libnvrtc missing
        pytest.skip(f"NVRTC not available: {exc}")


@pytest.mark.parametrize("arch", ["sm_90", "sm_80"])
def test_nvrtc_compiles_the_binding_name_expressions(arch):
    _nvrtc_or_skip()
    names = kc.config_names("iwp", 6, "sin", False) + kc.config_names("original", 2, None, True)
    lowered = kc.nvrtc_compile(list(names), arch)
    assert set(lowered) == set(names)
    assert len(set(lowered.values())) == len(names)
    assert lowered["iwp_forward<6, 0, false>"] == "_Z11iwp_forwardILi6ELi0ELb0EEvPKfPKiS1_Pfiii"


def test_nvrtc_reports_compile_errors():
    _nvrtc_or_skip()
    with pytest.raises(RuntimeError, match="NVRTC failed"):
        kc.nvrtc_compile(["iwp_forward<7, 0, false>"])  # fan-in 7 has no instantiation
