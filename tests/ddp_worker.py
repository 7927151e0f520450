"""One rank of a data-parallel ``python -m train`` run with a fault injected on rank 1, started by
tests/test_distributed.py the way torchrun starts a rank (``RANK``, ``WORLD_SIZE``,
``LOCAL_RANK``, ``MASTER_ADDR``, ``MASTER_PORT`` in the environment).

    python tests/ddp_worker.py [--die-at STEP --signal KILL|STOP] [--perturb] [--rank-1-out DIR]
        -- TRAIN-OPTIONS

On rank 1 only: ``--die-at`` sends the process SIGKILL (it dies) or SIGSTOP (it hangs) right after
optimiser step STEP; ``--perturb`` adds 1e-3 to one weight and moves one connection of the freshly
built model (a rank that built a different model); ``--rank-1-out`` gives rank 1 another ``--out``
(where a rank that is not rank 0 would write). Everything else is the real ``python -m train``.
"""
import os
import signal
import sys

import torch

import train.loop as loop
from train.__main__ import main


def inject(die_at: int | None, sig: str, perturb: bool) -> None:
    if int(os.environ.get("RANK", "0")) != 1:
        return
    if die_at is not None:
        real_train, signum = loop.train, getattr(signal, f"SIG{sig}")

        def hook(step):
            if step == die_at:
                os.kill(os.getpid(), signum)

        loop.train = lambda *a, **k: real_train(*a, step_hook=hook, **k)
    if perturb:
        real_build = loop.build_model

        def build(*a, **k):
            model = real_build(*a, **k)
            with torch.no_grad():
                model.layers[-1].theta[0, 0] += 1e-3
                first = model.layers[0]
                idx = first.idx.clone()
                idx[0, 0] = (idx[0, 0] + 1) % first.in_dim
                first.set_connections(idx)
            return model

        loop.build_model = build


if __name__ == "__main__":
    argv = sys.argv[1:]
    sep = argv.index("--")
    ours, rest = argv[:sep], argv[sep + 1:]
    die_at = int(ours[ours.index("--die-at") + 1]) if "--die-at" in ours else None
    sig = ours[ours.index("--signal") + 1] if "--signal" in ours else "KILL"
    inject(die_at, sig, "--perturb" in ours)
    if "--rank-1-out" in ours and os.environ.get("RANK") == "1":
        rest[rest.index("--out") + 1] = ours[ours.index("--rank-1-out") + 1]
    sys.exit(main(rest, prog_name="python -m train"))
