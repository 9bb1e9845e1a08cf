"""The ``sepkit`` command: demo, separate, errors and help."""

import os

import numpy as np
import pytest

from sepkit import AudioSignal
from sepkit.cli import METHODS, main


@pytest.fixture
def files(tmp_path):
    rate = 8000
    t = np.arange(2 * rate) / rate
    low = AudioSignal(0.3 * np.sin(2 * np.pi * 110 * t), rate, label="low")
    high = AudioSignal(0.3 * np.sin(2 * np.pi * 2000 * t), rate, label="high")
    paths = {}
    for name, sig in {"mix": low + high, "low": low, "high": high}.items():
        paths[name] = str(tmp_path / f"{name}.wav")
        sig.write(paths[name], subtype="FLOAT")
    return paths


def test_separate_high_low_pass_writes_one_file_per_source(files, tmp_path, capsys):
    out = tmp_path / "out"
    assert main(["separate", files["mix"], "--method", "high-low-pass", "--cutoff-hz", "500", "--out", str(out)]) == 0
    assert sorted(os.listdir(out)) == ["high.wav", "low.wav"]
    low = AudioSignal(str(out / "low.wav"))
    reference = AudioSignal(files["low"])
    error = low.audio_data - reference.audio_data
    assert np.sum(error**2) < 1e-3 * np.sum(reference.audio_data**2)
    assert str(out / "low.wav") in capsys.readouterr().out


def test_separate_oracle_mask_with_references(files, tmp_path):
    out = tmp_path / "ibm"
    code = main(["separate", files["mix"], "--method", "ibm", "--references", files["low"], files["high"], "--out", str(out)])
    assert code == 0 and sorted(os.listdir(out)) == ["high.wav", "low.wav"]


def test_separate_default_output_folder(files, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(["separate", files["mix"], "--method", "mix-as-estimate", "--num-sources", "3"]) == 0
    assert sorted(os.listdir(tmp_path / "mix_mix-as-estimate")) == ["source_0.wav", "source_1.wav", "source_2.wav"]


@pytest.mark.parametrize(
    "argv, message",
    [
        (["--method", "mix-as-estimate"], "--num-sources"),
        (["--method", "ibm"], "--references"),
        (["--method", "high-low-pass", "--cutoff-hz", "-5"], "cutoff_hz"),
    ],
)
def test_separate_reports_errors_without_a_traceback(files, tmp_path, capsys, argv, message):
    assert main(["separate", files["mix"], *argv, "--out", str(tmp_path / "x")]) == 1
    assert message in capsys.readouterr().err


def test_unreadable_file_is_an_error(tmp_path, capsys):
    bad = tmp_path / "bad.wav"
    bad.write_text("not audio")
    assert main(["separate", str(bad), "--method", "mix-as-estimate", "--num-sources", "2"]) == 1
    assert "cannot read" in capsys.readouterr().err


def test_help_lists_every_method(capsys):
    with pytest.raises(SystemExit):
        main(["separate", "--help"])
    text = capsys.readouterr().out
    assert all(name in text for name in METHODS)


def test_demo_prints_every_method_and_writes_only_with_out(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(["demo"]) == 0
    text = capsys.readouterr().out
    for name in ("IdealMask ibm", "IdealMask irm-psa", "WienerFilter on ibm", "MixAsEstimate", "HighLowPassFilter"):
        assert name in text
    assert os.listdir(tmp_path) == []
    rows = [line.split() for line in text.splitlines() if line.startswith("IdealMask ibm ")]
    violin_ibm = float(rows[0][2])
    assert violin_ibm > 5.5
