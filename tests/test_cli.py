"""The ``sepkit`` command: demo, separate, errors and help."""

import os

import numpy as np
import pytest

from sepkit import AudioSignal
from sepkit.cli import main
from sepkit.separation import available


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
        (["--method", "nmf"], "--num-sources"),
        (["--method", "snpa"], "--num-sources"),
        (["--method", "nmf-score"], "--score"),
        (["--method", "nmfd"], "--samples DIR"),
        (["--method", "dictsep"], "dictsep needs --num-sources N"),
        (["--method", "nmf", "--num-sources", "0"], "--num-sources"),
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
    assert all(name in text for name in available())


@pytest.mark.parametrize("method", ["nmf", "snpa", "nmfd"])
def test_separate_blind_nmf_family(files, tmp_path, method):
    out = tmp_path / method
    argv = ["separate", files["mix"], "--method", method, "--num-sources", "2", "--seed", "1", "--out", str(out)]
    assert main(argv) == 0
    estimates = [AudioSignal(str(out / name)) for name in sorted(os.listdir(out))]
    assert len(estimates) == 2
    # soft masks that sum to one: the estimates add up to the mixture (up to 32-bit float files)
    total = estimates[0].audio_data + estimates[1].audio_data
    np.testing.assert_allclose(total, AudioSignal(files["mix"]).audio_data, atol=1e-5)


def test_separate_dictsep(tmp_path):
    from sepkit.separation.dictsep import synthetic_parts

    part_a, part_b = synthetic_parts(seconds=0.3)
    mix = tmp_path / "duo.wav"
    AudioSignal(part_a + part_b, 44100).write(str(mix), subtype="FLOAT")
    out = tmp_path / "dictsep"
    assert main(["separate", str(mix), "--method", "dictsep", "--num-sources", "2", "--out", str(out)]) == 0
    estimates = [AudioSignal(str(out / name)).audio_data[0] for name in sorted(os.listdir(out))]
    assert len(estimates) == 2
    # each estimate correlates with one part (blind order); measured 0.86 + 0.95
    corr = np.array([[np.dot(e, p) / np.linalg.norm(e) / np.linalg.norm(p) for p in (part_a, part_b)]
                     for e in estimates])
    assert max(corr[0, 0] + corr[1, 1], corr[0, 1] + corr[1, 0]) > 1.5


def test_separate_score_informed_and_informed_nmfd(files, tmp_path):
    score = tmp_path / "notes.csv"
    # the fixture's two sine tones: 110 Hz is A2 (MIDI 45), 2000 Hz is about B6 (MIDI 95)
    score.write_text("stem,onset_s,offset_s,midi_pitch\nlow,0,2,45\nhigh,0,2,95\n")
    out = tmp_path / "score"
    assert main(["separate", files["mix"], "--method", "nmf-score", "--score", str(score), "--out", str(out)]) == 0
    assert sorted(os.listdir(out)) == ["high.wav", "low.wav"]
    low = AudioSignal(str(out / "low.wav")).audio_data
    reference = AudioSignal(files["low"]).audio_data
    assert np.sum((low - reference) ** 2) < 1e-2 * np.sum(reference**2)

    samples = tmp_path / "samples"
    for name in ("low", "high"):
        (samples / name).mkdir(parents=True)
        sig = AudioSignal(files[name])
        sig.truncate(2000).write(str(samples / name / "one.wav"), subtype="FLOAT")
    out = tmp_path / "nmfd"
    assert main(["separate", files["mix"], "--method", "nmfd", "--samples", str(samples), "--out", str(out)]) == 0
    assert sorted(os.listdir(out)) == ["high.wav", "low.wav"]


def test_demo_prints_every_method_and_writes_only_with_out(tmp_path, capsys, monkeypatch):
    """Every registered demo row is printed; nothing is written without --out.

    The full-size demo is what CI runs first (``sepkit demo``); here every scene is cut to 1 s
    and every row runs with its entry's quick parameters, which exercises the same code.
    """
    import sepkit.demo as demo

    real_scene, real_row = demo._scene, demo._run_row
    monkeypatch.setattr(demo, "_scene", lambda scene, seconds=None: real_scene(scene, 1.0 if seconds is None else seconds))
    monkeypatch.setattr(demo, "_run_row", lambda entry, row, *args, warmup=False: real_row(entry, row, *args, warmup=True))
    monkeypatch.setattr(demo, "start_background_warm_up", lambda scenes: None)  # tests/test_demo.py
    monkeypatch.chdir(tmp_path)
    assert main(["demo"]) == 0
    text = capsys.readouterr().out
    labels = [row.label for scene in demo.SCENES for _, row in demo.demo_rows(scene)]
    assert len(labels) >= 30
    for label in labels:
        assert label in text
    assert os.listdir(tmp_path) == []
    chorale = text.split("\n\n")[1]  # the first table: the chorale, 4 sources
    mean = {line.split()[0]: float(line.split()[-2]) for line in chorale.splitlines()
            if line.startswith(("IdealMask ibm ", "MixAsEstimate "))}
    assert mean["IdealMask"] > mean["MixAsEstimate"] + 5.0  # mean SI-SDR over the four voices


@pytest.fixture
def folder_dataset(tmp_path):
    """Two items in the chorale layout (mix.wav + stems + a 2-source mix), 0.5 s at 8 kHz."""
    rate = 8000
    t = np.arange(rate // 2) / rate
    for i, (f_low, f_high) in enumerate(((110, 2000), (220, 1500))):
        folder = tmp_path / "data" / f"piece{i}"
        folder.mkdir(parents=True)
        low = AudioSignal(0.3 * np.sin(2 * np.pi * f_low * t), rate)
        high = AudioSignal(0.2 * np.sin(2 * np.pi * f_high * t), rate)
        for name, sig in {"mix": low + high, "low": low, "high": high, "mix_low_high": low + high}.items():
            sig.write(str(folder / f"{name}.wav"), subtype="FLOAT")
        (folder / "notes.csv").write_text("onset\n")
    return tmp_path / "data"


def test_evaluate_then_report(folder_dataset, tmp_path, capsys):
    out = tmp_path / "results"
    argv = ["evaluate", str(folder_dataset), "--methods", "ibm", "mix-as-estimate", "--out", str(out),
            "--sources", "low", "high"]
    assert main(argv) == 0
    assert "4 results written" in capsys.readouterr().out
    assert sorted(os.listdir(out)) == ["ibm", "mix-as-estimate"]
    assert sorted(os.listdir(out / "ibm")) == ["piece0.json", "piece1.json"]
    assert main(argv) == 0 and "4 skipped" in capsys.readouterr().out
    assert main(["report", str(out), "--baseline", "mix-as-estimate"]) == 0
    text = capsys.readouterr().out
    assert "## SI-SDR (scale_invariant)" in text and "| ibm | low | 2 |" in text and "Δ mix-as-estimate" in text
    assert {"results.csv", "report_card.csv", "report.md"} <= set(os.listdir(out))


def test_evaluate_default_sources_and_errors(folder_dataset, tmp_path, capsys):
    out = tmp_path / "r"
    assert main(["evaluate", str(folder_dataset), "--methods", "high-low-pass", "--out", str(out)]) == 0
    import json

    record = json.load(open(out / "high-low-pass" / "piece0.json"))
    assert record["sources"] == ["high", "low"]  # mix_low_high.wav is another mixture, not a source
    assert main(["evaluate", str(folder_dataset), "--methods", "magic", "--out", str(out)]) == 1
    assert "unknown separator 'magic'" in capsys.readouterr().err
    assert main(["evaluate", str(tmp_path / "none"), "--out", str(out)]) == 1
    assert "does not exist" in capsys.readouterr().err
    assert main(["report", str(out), "--baseline", "nope"]) == 1


def test_evaluate_help_lists_methods_and_metrics(capsys):
    from sepkit.evaluation.registry import METRICS
    from sepkit.separation.presets import default_separators

    with pytest.raises(SystemExit):
        main(["evaluate", "--help"])
    text = capsys.readouterr().out
    assert all(name in text for name in default_separators()) and all(name in text for name in METRICS)
    for option in ("--methods", "--metrics", "--jobs", "--scheduler", "--mixture", "--sources", "--out"):
        assert option in text


def _one_line_error(capsys, code):
    err = capsys.readouterr().err
    assert code != 0
    assert "Traceback" not in err
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1, err
    return lines[0]


def test_cli_mistakes_are_one_line_without_traceback(files, tmp_path, capsys):
    a_file = tmp_path / "a_file"
    a_file.write_text("x")
    line = _one_line_error(capsys, main(["separate", files["mix"], "--method", "mix-as-estimate", "--num-sources",
                                         "2", "--out", str(a_file)]))
    assert f"--out {a_file}" in line and "not a folder" in line
    line = _one_line_error(capsys, main(["separate", files["mix"], "--method", "nmfd", "--samples",
                                         str(tmp_path / "missing")]))
    assert "--samples" in line and "no such folder" in line
    line = _one_line_error(capsys, main(["separate", files["mix"], "--method", "nmfd", "--samples", str(a_file)]))
    assert "--samples" in line and "not a folder" in line
    line = _one_line_error(capsys, main(["demo", "--out", str(a_file)]))
    assert f"--out {a_file}" in line
    line = _one_line_error(capsys, main(["separate", files["mix"], "--method", "mix-as-estimate", "--num-sources",
                                         "2", "--out", str(a_file / "sub")]))
    assert "--out" in line and "cannot create" in line
    line = _one_line_error(capsys, main(["separate", str(tmp_path / "none.wav"), "--method", "mix-as-estimate",
                                         "--num-sources", "2"]))
    assert "no such file" in line
    line = _one_line_error(capsys, main(["separate", files["mix"], "--method", "nmf", "--num-sources", "0"]))
    assert "--num-sources" in line


def test_cli_unreachable_scheduler_fails_fast(folder_dataset, tmp_path, capsys):
    code = main(["evaluate", str(folder_dataset), "--methods", "mix-as-estimate", "--out", str(tmp_path / "r"),
                 "--scheduler", "tcp://127.0.0.1:9"])
    line = _one_line_error(capsys, code)
    assert "tcp://127.0.0.1:9" in line


def test_cli_debug_shows_the_traceback(tmp_path):
    with pytest.raises(Exception, match="no such file"):
        main(["--debug", "separate", str(tmp_path / "none.wav"), "--method", "mix-as-estimate", "--num-sources", "2"])
