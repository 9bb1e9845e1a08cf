"""The registry: every registered separator honours the contract, on small inputs.

These tests are parametrised over :func:`sepkit.separation.available`, so a new
registration is tested without editing this file.
"""

import json
import os

import numpy as np
import pytest

import sepkit
from sepkit.cli import main
from sepkit.core import BinaryMask, SeparationError, SoftMask
from sepkit.separation import MaskSeparationBase, available, get_separator, register
from sepkit.separation.presets import default_separators, registry_method
from sepkit.separation.registry import Inputs

SECONDS = 1.0


@pytest.fixture(scope="module")
def small():
    """1 s of the bundled duet (violin + clarinet), mono and panned stereo, with notes and drums."""
    mix, sources = sepkit.datasets.load_example(sources=("violin", "clarinet"))
    n = int(SECONDS * mix.sample_rate)
    mix = mix.truncate(n)
    sources = {k: v.truncate(n) for k, v in sources.items()}
    notes = sepkit.datasets.load_example_notes(list(sources))
    stereo_sources = {
        k: sepkit.AudioSignal(np.stack([g * v.audio_data[0], (1 - g) * v.audio_data[0]]), v.sample_rate, label=k)
        for g, (k, v) in zip((0.8, 0.2), sources.items())
    }
    stereo_mix = sum(stereo_sources.values())
    return {"mono": (mix, sources, notes), "stereo": (stereo_mix, stereo_sources, notes)}


def _inputs(entry, small):
    """The mixture and inputs a test gives ``entry``: every need it can satisfy, estimates from the IBM."""
    mix, sources, notes = small["stereo" if "multichannel" in entry.flat_needs else "mono"]
    inputs = Inputs(num_sources=len(sources), references=sources, score=notes, seed=0)
    if "estimates" in entry.flat_needs:
        inputs.estimates = sepkit.separation.IdealMask(mix, sources, approach="ibm")()
    return mix, sources, inputs


def _stack(signals):
    return np.stack([s.audio_data for s in signals])


@pytest.mark.parametrize("name", available())
def test_contract(name, small):
    entry = get_separator(name)
    mix, sources, inputs = _inputs(entry, small)
    before = mix.audio_data.copy()
    separator = entry.build(mix, inputs, **entry.quick)
    assert isinstance(separator, entry.cls)
    with pytest.raises(SeparationError, match="run"):
        separator.make_audio_signals()
    result = separator.run()
    if isinstance(separator, MaskSeparationBase):
        assert result is separator.result_masks
        assert all(isinstance(m, (SoftMask, BinaryMask)) for m in result)
    estimates = separator.make_audio_signals()
    assert len(estimates) >= 1
    assert len(separator.source_labels) == len(estimates)
    for est in estimates:
        assert est.audio_data.shape == mix.audio_data.shape
        assert est.sample_rate == mix.sample_rate
        assert np.all(np.isfinite(est.audio_data))
    np.testing.assert_array_equal(mix.audio_data, before)
    for signal in sources.values():
        assert np.all(np.isfinite(signal.audio_data))
    # The parameters read back from the object rebuild the same separator.
    params = separator.get_params()
    assert set(params) == set(entry.cls._param_names())
    again = type(separator)(mix, **params)()
    np.testing.assert_allclose(_stack(again), _stack(estimates), rtol=0, atol=1e-12)
    assert type(separator).__name__ + "(" in repr(separator)


@pytest.mark.parametrize("name", available())
def test_cli_lists_it(name, capsys):
    with pytest.raises(SystemExit):
        main(["separate", "--help"])
    out = capsys.readouterr().out
    assert f"\n  {name} " in out
    assert get_separator(name).description.split()[0] in out


@pytest.mark.parametrize("name", available())
def test_evaluate_runs_it_by_name(name, small, tmp_path):
    entry = get_separator(name)
    mix, sources, notes = small["stereo" if "multichannel" in entry.flat_needs else "mono"]
    item = tmp_path / "data" / "item0"
    item.mkdir(parents=True)
    mix.write(str(item / "mix.wav"))
    for label, signal in sources.items():
        signal.write(str(item / f"{label}.wav"))
    with open(item / "notes.csv", "w") as file:
        file.write("stem,onset_s,offset_s,midi_pitch\n")
        for note in notes:
            file.write(f"{note.stem},{note.onset_s},{note.offset_s},{note.midi_pitch}\n")
    params = [f"--param={k}={v!r}" for k, v in entry.quick.items()]
    status = main(["evaluate", str(tmp_path / "data"), "--out", str(tmp_path / "out"), "--methods", name,
                   "--metrics", "scale_invariant", *params])
    assert status == 0
    with open(os.path.join(tmp_path / "out", name, "item0.json")) as file:
        record = json.load(file)
    assert record["status"] == "ok", record.get("error")
    assert record["parameters"]["class"] == entry.cls.__name__
    assert record["oracle"] == (entry.oracle or "estimates" in entry.flat_needs)


def test_presets_follow_the_registry():
    presets = default_separators()
    for name, method in presets.items():
        entry = get_separator(name)
        assert method.params["class"] == entry.cls.__name__
        for key, value in entry.defaults.items():
            assert method.params[key] == value
    assert "dictsep" not in presets  # slow: by name only
    assert {"ibm", "irm-msa", "irm-psa", "wiener", "nmf", "snpa", "nmfd", "mix-as-estimate"} <= set(presets)


def test_preset_parameters_come_from_the_signature():
    # NMF's n_iter default is read from NMF.__init__, not written a second time.
    import inspect

    default = inspect.signature(sepkit.separation.NMF.__init__).parameters["n_iter"].default
    assert registry_method("nmf").params["n_iter"] == default
    assert registry_method("nmf", n_iter=7).params["n_iter"] == 7


def test_missing_needs_name_the_flag(small):
    mix = small["mono"][0]
    with pytest.raises(SeparationError, match="--num-sources N"):
        get_separator("nmf").build(mix, Inputs())
    with pytest.raises(SeparationError, match="--references"):
        get_separator("ibm").build(mix, Inputs())
    with pytest.raises(SeparationError, match="--samples DIR .* or --num-sources N"):
        get_separator("nmfd").build(mix, Inputs())


def test_unknown_parameter_and_name(small):
    mix = small["mono"][0]
    with pytest.raises(SeparationError, match="has no parameter 'cutoff_hz'"):
        get_separator("nmf").build(mix, Inputs(num_sources=2), cutoff_hz=100.0)
    with pytest.raises(SeparationError, match="unknown separator 'nope'.*ibm"):
        get_separator("nope")
    with pytest.raises(SeparationError, match="has no parameter"):
        registry_method("nmf", colour="red")


def test_register_refuses_a_taken_name_and_non_separators():
    with pytest.raises(SeparationError, match="already registered"):
        register("ibm", sepkit.separation.NMF, "x")
    with pytest.raises(SeparationError, match="SeparationBase subclass"):
        register("x", dict, "x")
    with pytest.raises(SeparationError, match="unknown need"):
        register("x-new", sepkit.separation.MixAsEstimate, "x", needs=("cake",))
    assert "x-new" not in available()


def test_separate_with_param(small, tmp_path, capsys):
    mix = small["mono"][0]
    path = str(tmp_path / "mix.wav")
    mix.write(path)
    out = str(tmp_path / "out")
    assert main(["separate", path, "--method", "high-low-pass", "--param", "cutoff_hz=300.0", "--out", out]) == 0
    low = sepkit.AudioSignal(os.path.join(out, "low.wav"))
    expected = sepkit.separation.HighLowPassFilter(mix, cutoff_hz=300.0)()[0]
    np.testing.assert_allclose(low.audio_data, expected.audio_data, atol=1e-6)
    assert main(["separate", path, "--method", "nmf", "--param", "cutoff_hz=3", "--num-sources", "2",
                 "--out", out + "2"]) == 1
    assert "has no parameter 'cutoff_hz'" in capsys.readouterr().err


def test_build_refuses_a_mixture_that_is_not_an_audio_signal():
    from sepkit.separation.registry import Inputs

    with pytest.raises(SeparationError, match="must be an AudioSignal, got str 'mix.wav'"):
        get_separator("repet").build("mix.wav", Inputs(num_sources=2))
