"""flows.postsim: synthesised netlists simulate equal to Netlist.evaluate; a mutant does not."""

import pytest

pytest.importorskip("amaranth")  # hardware tests skip where amaranth is absent (GPU machines)

from flows.design import core_design
from flows.devices import resolve_target
from flows.equiv import write_mutant
from flows.postsim import postsim
from flows.synth import synthesize
from lgn_hw.netlist import random_netlist
from rtl.vectors import make_vectors, random_inputs

pytestmark = pytest.mark.tools  # runs Yosys / nextpnr / Icarus


@pytest.mark.parametrize("target,every", [("ice40", None), ("ice40", 1), ("ice40", "head"), ("xc7", None),
                                          ("lut4", None)])
def test_postsim_matches_evaluate(tmp_path, target, every):
    net = random_netlist(5, 24, [30, 24], 4, 3, skip=True)
    vec = make_vectors(net, random_inputs(net, 200, 0, raw_inputs=False), raw_inputs=False)
    res = postsim(core_design(net, pipeline_every=every), resolve_target(target), vec, tmp_path)
    assert res.n == 200 and res.ok, res.details()


@pytest.mark.slow
def test_postsim_ecp5(tmp_path):
    net = random_netlist(5, 24, [30, 24], 4, 3)
    vec = make_vectors(net, random_inputs(net, 200, 0, raw_inputs=False), raw_inputs=False)
    assert postsim(core_design(net), resolve_target("ecp5"), vec, tmp_path).ok


def test_mutant_is_caught(tmp_path):
    net = random_netlist(6, 24, [30, 24], 4, 3)
    d = core_design(net)
    dev = resolve_target("ice40")
    vec = make_vectors(net, random_inputs(net, 200, 0, raw_inputs=False), raw_inputs=False)
    s = synthesize(d.sources, d.top, dev, tmp_path / "s")
    bad = write_mutant(s.netlist_verilog, tmp_path / "mut.v")
    res = postsim(d, dev, vec, tmp_path / "m", synth_v=bad)
    assert res.n_mismatch > 0


@pytest.mark.parametrize("target,formal", [("xc7", False), ("ice40", True), ("gowin", False)])
def test_verify_chooses_formal_only_where_the_family_allows_it(tmp_path, target, formal):
    """A small combinational core gets the formal check by default on families with proofs, and
    simulation only (not an error) on the others (7-series, Gowin)."""
    from click.testing import CliRunner

    from lgn_hw.cli import main

    path = tmp_path / "n.json"
    random_netlist(3, 8, [6], 2, 2).save(path)
    r = CliRunner().invoke(main, ["verify", "--netlist", str(path), "--target", target,
                                  "--vectors", "50", "--self-test", "--out", str(tmp_path / "v")])
    assert r.exit_code == 0, r.output
    assert "50/50 samples match" in r.output and "verification passed" in r.output
    assert ("formal equivalence RTL vs ice40 netlist: " in r.output) == formal
    assert ("formal equivalence skipped" in r.output) == (not formal)
    assert "self-test, one LUT inverted: simulation caught it" in r.output


def test_verify_refused_before_work_leaves_no_empty_out(tmp_path):
    """A verify refused before synthesis (here: a dataset whose features do not fit the netlist)
    is one line and leaves no empty --out folders behind; a folder that existed stays."""
    from click.testing import CliRunner

    from lgn_hw.cli import main

    from lgn_hw.datasets import load
    from lgn_hw.encoding import for_dataset
    from lgn_hw.netlist import Netlist

    enc = for_dataset(load("digits"), thresholds=1)
    base = random_netlist(3, enc.n_bits, [20], 2, 10).to_dict()
    path = tmp_path / "n.json"
    Netlist.from_dict({**base, "encoding": enc.to_dict(), "meta": {"dataset": "digits"}}).save(path)
    (tmp_path / "empty").mkdir()
    for out, existed in ((tmp_path / "a" / "b" / "v", False), (tmp_path / "mine", True)):
        if existed:
            out.mkdir()
        r = CliRunner().invoke(main, ["verify", "--netlist", str(path), "--target", "xc7",
                                      "--dataset", "mnist", "--data-root", str(tmp_path / "empty"),
                                      "--out", str(out)])
        assert r.exit_code != 0 and r.output.count("\n") == 1 and r.output.startswith("Error: "), r.output
        assert out.is_dir() == existed and (tmp_path / "a").exists() == False  # noqa: E712


@pytest.mark.parametrize("command", ["verify", "run"])
def test_dataset_for_a_netlist_without_encoding_is_refused_not_replaced(tmp_path, command):
    """--dataset on a netlist whose inputs are bits is one line (as infer and sim say it), not a
    check on random vectors that reads as if the dataset had been used."""
    from click.testing import CliRunner

    from lgn_hw.cli import main

    path = tmp_path / "n.json"
    random_netlist(3, 8, [6], 2, 2).save(path)
    extra = ["--port", "sim"] if command == "run" else ["--out", str(tmp_path / "v")]
    r = CliRunner().invoke(main, [command, "--netlist", str(path), "--dataset", "digits", *extra])
    assert r.exit_code != 0 and r.output == ("Error: the netlist has no encoding (its inputs are "
                                             "bits): dataset features cannot be fed to it\n"), r.output
    assert not (tmp_path / "v").exists()


def test_self_test_tries_another_lut_when_one_changes_no_output(tmp_path, monkeypatch):
    """A LUT whose inversion changes no output on the checked inputs (the low digit of one argmax
    comparison, say: a registered MNIST core's first LUT) is not a miss: verify inverts another
    LUT of the netlist, and that one must be caught. Here the first mutant's simulation is given
    the unchanged netlist (a mutation nothing can see); the second is real and caught."""
    from click.testing import CliRunner

    import flows.postsim
    from lgn_hw.cli import main

    real, calls = flows.postsim.postsim, []

    def first_unseen(design, device, vec, work, synth_v=None):
        calls.append(synth_v)
        if "mutant" in str(work) and len(calls) == 2:      # calls[0] is the netlist itself
            synth_v = calls[0]
        return real(design, device, vec, work, synth_v=synth_v)

    monkeypatch.setattr(flows.postsim, "postsim", first_unseen)
    path = tmp_path / "n.json"
    random_netlist(3, 12, [16, 8], 4, 2).save(path)
    r = CliRunner().invoke(main, ["verify", "--netlist", str(path), "--target", "xc7",
                                  "--vectors", "50", "--no-formal", "--self-test",
                                  "--out", str(tmp_path / "v")])
    assert r.exit_code == 0, r.output
    assert len(calls) == 3 and "changes no output on these inputs; inverting another" in r.output
    assert "self-test, one LUT inverted: simulation caught it" in r.output
    n = int(r.output.split(" of ")[-1].split(")")[0])
    assert f"mismatches; LUT {1 + n // 4} of {n})" in r.output   # the next of 4 spread LUTs
