"""Static resource use of the CUDA kernels (no GPU needed): registers, stack, spills and shared
memory from ptxas (``nvcc -arch=sm_90 -cubin --resource-usage``), and the theoretical occupancy
they allow on an SM 9.0 (Hopper) multiprocessor.

Occupancy model (CUDA occupancy calculator, compute capability 9.0): 65,536 registers per SM,
allocated per warp in units of 256 (registers per thread rounded up to a multiple of 8); at most
64 warps, 32 blocks and 228 KiB of shared memory per SM (1 KiB reserved per block).
"""
from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

from . import compile as kc

REGS_PER_SM = 65536
MAX_WARPS_PER_SM = 64
MAX_BLOCKS_PER_SM = 32
SMEM_PER_SM = 228 * 1024
SMEM_RESERVED_PER_BLOCK = 1024


def occupancy(registers: int, threads_per_block: int, smem_bytes: int = 0) -> dict:
    """Blocks per SM and the fraction of the SM's 64 warps they keep resident."""
    warps = -(-threads_per_block // 32)
    regs_per_warp = -(-(-(-max(registers, 1) // 8) * 8 * 32) // 256) * 256
    by_regs = REGS_PER_SM // (regs_per_warp * warps)
    by_warps = MAX_WARPS_PER_SM // warps
    by_smem = SMEM_PER_SM // (smem_bytes + SMEM_RESERVED_PER_BLOCK)
    blocks = min(by_regs, by_warps, by_smem, MAX_BLOCKS_PER_SM)
    return {"blocks_per_sm": blocks, "occupancy": blocks * warps / MAX_WARPS_PER_SM}


def instantiation_unit() -> str:
    """The inlined kernel source plus a table taking the address of every instantiation the
    binding can request (exactly the name expressions NVRTC is given)."""
    table = "\n".join(f"    (const void*)&{n}," for n in kc.all_name_expressions())
    return kc.kernel_source() + "\nconst void* lgn_all_kernels[] = {\n" + table + "\n};\n"


def parse_ptxas(text: str) -> dict[str, dict[str, int]]:
    """Per mangled kernel name: registers, stack, spill_stores, spill_loads, smem (bytes)."""
    report, current, frame = {}, None, None
    for line in text.splitlines():
        m = re.search(r"Compiling entry function '(\w+)'", line)
        if m:
            current = m.group(1)
            continue
        m = re.search(r"(\d+) bytes stack frame, (\d+) bytes spill stores, (\d+) bytes spill loads", line)
        if m:
            frame = [int(v) for v in m.groups()]
            continue
        m = re.search(r"Used (\d+) registers.*?(?:(\d+) bytes smem)?$", line)
        if m and current:
            report[current] = {"stack": frame[0], "spill_stores": frame[1], "spill_loads": frame[2],
                               "registers": int(m.group(1)), "smem": int(m.group(2) or 0)}
            current = None
    return report


def ptxas_report(workdir: Path, arch: str = "sm_90", nvcc: str | None = None) -> tuple[dict, str]:
    """Compile every instantiation with nvcc and return (parsed report, ptxas log). Raises
    RuntimeError when nvcc is missing or fails."""
    nvcc = nvcc or shutil.which("nvcc")
    if nvcc is None:
        raise RuntimeError("nvcc not found: the resource report needs the CUDA compiler")
    src = Path(workdir) / "all_kernels.cu"
    src.write_text(instantiation_unit())
    proc = subprocess.run([nvcc, "-std=c++17", f"-arch={arch}", "-cubin", "--resource-usage",
                           str(src), "-o", str(Path(workdir) / "all_kernels.cubin")],
                          capture_output=True, text=True)
    if proc.returncode != 0:
        raise RuntimeError(f"nvcc failed:\n{proc.stderr[-4000:]}")
    return parse_ptxas(proc.stderr + proc.stdout), proc.stderr


def demangle(mangled: str) -> str:
    """The name expression a mangled kernel name belongs to (by NVRTC-free matching)."""
    m = re.match(r"_Z\d+(\w+?)I(.*)EEv", mangled)
    if not m:
        return mangled
    args = re.findall(r"L([ib])(\d+)E", m.group(2) + "E")
    vals = [("true" if v == "1" else "false") if t == "b" else v for t, v in args]
    return f"{m.group(1)}<{', '.join(vals)}>"
