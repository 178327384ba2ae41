"""``torch.compile`` of every registered model: the compiled model computes what the eager one does (forward, step,
every generation mode), something is actually compiled, and no loop over time is unrolled into the graph.

Every model compiles with ``aot_eager`` (traced through dynamo and AOTAutograd, no code generated: cheap); one small
model compiles with the default inductor backend (C++ codegen on CPU), where a compiler is installed.
"""

from __future__ import annotations

import copy

import pytest
import torch

from seqarena.errors import SpecError
from seqarena.models import available, generate, get_class
from seqarena.models.compiled import check_compile, compile_model, cpp_compiler
from tests.conftest import VOCAB, small_model

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")


@pytest.fixture(autouse=True)
def _fresh_dynamo():
    torch._dynamo.reset()
    yield
    torch._dynamo.reset()


def _same_as_eager(name: str, backend: str, *, generation: bool = True) -> None:
    eager = small_model(name)
    compiled = copy.deepcopy(eager)
    record = compile_model(compiled, backend)
    x = torch.randint(0, VOCAB, (2, 19), generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        torch.testing.assert_close(compiled(x)[0], eager(x)[0], rtol=1e-5, atol=1e-5)
    if generation and eager.causal and get_class(name).generation_modes:
        for mode in eager.generation_modes:
            assert torch.equal(generate(compiled, x[:, :5], 4, mode).tokens, generate(eager, x[:, :5], 4, mode).tokens)
    done = record.so_far()
    assert done["backend"] == backend and "readout" in done["units"] and len(done["units"]) >= 2
    assert done["compiles"] >= 1 and done["compile_s"] > 0  # the layers were traced, not silently left eager


@pytest.mark.parametrize("name", available())
def test_every_model_compiled_with_aot_eager_computes_what_it_computes_eagerly(name):
    _same_as_eager(name, "aot_eager")


@pytest.mark.skipif(cpp_compiler() is None, reason="inductor on CPU needs a C++ compiler (none on PATH)")
def test_a_small_transformer_compiled_with_inductor_computes_what_it_computes_eagerly():
    _same_as_eager("transformer", "inductor", generation=False)  # each new shape is another C++ build: one shape


def test_the_training_path_compiles_too_and_gives_the_eager_gradients():
    eager = small_model("transformer")
    compiled = copy.deepcopy(eager)
    compile_model(compiled, "aot_eager")
    x = torch.randint(0, VOCAB, (2, 11), generator=torch.Generator().manual_seed(1))
    for m in (eager, compiled):
        m.train()
        m(x)[0].square().mean().backward()
    for (n, a), b in zip(eager.named_parameters(), compiled.parameters()):
        torch.testing.assert_close(b.grad, a.grad, rtol=1e-5, atol=1e-6, msg=n)


def test_a_loop_over_time_stays_out_of_the_graph():
    """The SSM's chunked scan passes its state chunk by chunk: compiled, the number of graphs must not grow with the
    number of chunks (an unrolled loop would trace one graph per length, each bigger)."""
    counts = []
    for T in (40, 160):
        torch._dynamo.reset()
        model = small_model("ssm", {"chunk": 8})
        record = compile_model(model, "aot_eager")
        with torch.no_grad():
            model(torch.randint(0, VOCAB, (1, T)))
        counts.append(record.so_far()["compiles"])
    assert counts[0] == counts[1]


def test_unknown_backends_and_a_missing_cpp_compiler_are_one_line_errors(monkeypatch):
    with pytest.raises(SpecError, match="unknown compile backend 'tvm'"):
        check_compile("tvm")
    monkeypatch.setattr("seqarena.models.compiled.cpp_compiler", lambda: None)
    with pytest.raises(SpecError, match="needs a C\\+\\+ compiler"):
        check_compile("inductor", "cpu")
    check_compile("aot_eager", "cpu")  # generates no code: no compiler needed
    check_compile(None)


def test_the_compiler_checked_is_the_one_inductor_will_use(monkeypatch):
    monkeypatch.setenv("CXX", "/nonexistent/g++")  # inductor takes $CXX as it is: g++ on PATH does not help
    assert cpp_compiler() is None
    with pytest.raises(SpecError, match="/nonexistent/g\\+\\+ was not found"):
        check_compile("inductor", "cpu")


def test_importing_the_models_does_not_load_dynamo():
    """torch._dynamo costs ~1.6 s at every process start (the CLI and each trial worker); only compiling loads it."""
    import subprocess
    import sys

    code = "import sys, seqarena.models; print('torch._dynamo' in sys.modules)"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "False"
