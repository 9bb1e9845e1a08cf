"""Random inputs to the public constructors: the only exception allowed is ``SepkitError``.

Each test calls sepkit with arbitrary shapes, dtypes, values and parameters; a
``SepkitError`` (any subclass) is an acceptable answer, any other exception escapes and
fails the test. When the call succeeds, the result is checked for the invariants the
documentation promises (shapes, dtypes, finite values, read-only arrays).
"""

import os
from decimal import Decimal
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, event, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import sepkit
from sepkit import AudioSignal, BinaryMask, SepkitError, SoftMask, STFTParams
from sepkit.separation import HighLowPassFilter, IdealMask

# CI runs a fixed, modest set of examples; for a longer random search:
#   SEPKIT_FUZZ_EXAMPLES=3000 SEPKIT_FUZZ_RANDOM=1 python -m pytest tests/test_hypothesis_inputs.py
FUZZ = settings(
    max_examples=int(os.environ.get("SEPKIT_FUZZ_EXAMPLES", "150")),
    deadline=None,  # numba compiles on first use
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much],
    derandomize=not os.environ.get("SEPKIT_FUZZ_RANDOM"),  # reproducible by default
    database=None,
)

NUMERIC_DTYPES = [
    np.bool_, np.int8, np.int16, np.int32, np.int64, np.uint8, np.uint16,
    np.float16, np.float32, np.float64, np.complex64, np.complex128,
]
SMALL_PARAMS = STFTParams(8, 2, "hann")

# -- strategies -------------------------------------------------------------------------------

shapes = hnp.array_shapes(min_dims=0, max_dims=4, min_side=0, max_side=5)


@st.composite
def object_arrays(draw):
    shape = draw(shapes)
    size = int(np.prod(shape))
    items = draw(st.lists(
        st.one_of(st.none(), st.integers(-3, 3), st.floats(), st.text(max_size=2), st.just([1, 2])),
        min_size=size, max_size=size,
    ))
    array = np.empty(shape, dtype=object)
    for index, item in zip(np.ndindex(*shape), items):
        array[index] = item
    return array


def any_arrays():
    """0-D to 4-D arrays (empty axes included) of every kind of dtype, NaN/inf included."""
    numeric = st.sampled_from(NUMERIC_DTYPES).flatmap(lambda dtype: hnp.arrays(dtype, shapes))
    text = st.sampled_from(["U3", "S2"]).flatmap(lambda dtype: hnp.arrays(dtype, shapes))
    times = hnp.arrays(np.dtype("datetime64[s]"), shapes)
    ragged = st.lists(st.lists(st.floats(-1, 1), max_size=4), min_size=1, max_size=3)
    return st.one_of(numeric, text, times, object_arrays(), ragged)


def plausible_audio():
    """Arrays that are mostly valid audio: (n,), (1, n) or (2, n), short, any values of the dtype."""
    audio_shapes = st.one_of(
        st.tuples(st.integers(1, 60)),
        st.tuples(st.integers(1, 2), st.integers(2, 60)),
    )
    return hnp.arrays(st.sampled_from([np.float64, np.float32, np.int16, np.uint8]), audio_shapes)


def bounded_audio():
    return st.tuples(st.integers(1, 2), st.integers(2, 60)).flatmap(
        lambda cs: hnp.arrays(np.float64, cs, elements=st.floats(-1, 1, width=64))
    )


odd_values = st.sampled_from(
    [None, True, False, "44100", "", b"x", 1 + 0j, complex(1, 1), Decimal("8000"), Fraction(16000, 2),
     Fraction(1, 3), [8000], (8000,), {}, np.array([8000]), object()]
)

# sample rates: valid small ones, negative, zero, floats, NaN/inf, huge, numpy scalars, odd types.
# (Valid rates between ~1e6 and 2**31 - 1 are legal but allocate a huge default window: left out.)
sample_rates = st.one_of(
    st.integers(-1000, 200_000),
    st.sampled_from([0, -1, 2**31, 2**31 + 1, 2**63, 10**30, 2**2000]),
    st.floats(min_value=-1e6, max_value=2e5, allow_nan=False),
    st.sampled_from([np.nan, np.inf, -np.inf, 1e300, -1e300, 44100.0, 44100.5, 5e-324]),
    st.sampled_from([np.int64(8000), np.int32(-5), np.float32(22050), np.float64(np.nan), np.uint16(16000)]),
    odd_values,
)

lengths = st.one_of(
    st.none(),
    st.integers(-5, 300),
    st.floats(allow_nan=True, allow_infinity=True),
    # (absurd lengths such as 2**70 are left out: they ask istft for that many samples)
    st.sampled_from([np.int64(16), np.int32(0), "64", True, 64.0, [64]]),
)

window_names = ["sqrt_hann", "hann", "hamming", "blackman", "rectangular", "rect", "boxcar", "triang",
                "bartlett", "nuttall", "flattop", "cosine", "HANN", "nope", ""]
window_types = st.one_of(
    st.none(),
    st.sampled_from(window_names),
    st.text(max_size=6),
    st.tuples(
        st.sampled_from(["kaiser", "tukey", "gaussian", "general_gaussian", "exponential", "chebwin",
                         "general_hamming", "taylor", "dpss", "sqrt_hann", "nope"]),
        # parameters stay below 1e4 in size: scipy allocates O(nbar) for ('taylor', nbar)
        st.one_of(st.floats(-1e4, 1e4), st.sampled_from([np.nan, np.inf, -np.inf]), st.integers(-5, 5),
                  st.none(), st.text(max_size=2)),
    ),
    st.tuples(st.just("general_gaussian"), st.floats(-5, 5), st.floats(-5, 5)),
    st.tuples(),
    st.integers(),
    st.floats(),
    st.sampled_from([["hann"], ("kaiser", [8.0]), b"hann", {"hann": 1}, np.str_("hann")]),
)


def stft_params_values():
    return st.one_of(
        st.none(),
        st.builds(STFTParams, st.sampled_from([8, 16, 15]), st.sampled_from([2, 4, 5]), st.sampled_from(["hann", "sqrt_hann", "hamming"])),
        st.builds(STFTParams),
        odd_values,
        st.just((8, 2, "hann")),
    )


def check_signal(sig):
    assert isinstance(sig, AudioSignal)
    audio = sig.audio_data
    assert audio.dtype == np.float64 and audio.ndim == 2
    assert 1 <= audio.shape[0] <= audio.shape[1]
    assert np.all(np.isfinite(audio))
    assert not audio.flags.writeable
    assert isinstance(sig.sample_rate, int) and sig.sample_rate > 0
    assert sig.stft_params.is_complete


def call(function, *args, **kwargs):
    """Run ``function``; return its result, or None when it raised a SepkitError.

    Outcomes are recorded as hypothesis events (``--hypothesis-show-statistics``) to check
    that the strategies reach both the valid and the invalid inputs.
    """
    name = getattr(function, "__qualname__", f"{type(function).__name__}()")
    try:
        result = function(*args, **kwargs)
    except SepkitError as err:
        event(f"{name}: {type(err).__name__}")
        return None
    event(f"{name}: ok")
    return result


# -- AudioSignal ------------------------------------------------------------------------------


@FUZZ
@given(array=st.one_of(any_arrays(), plausible_audio()), sample_rate=sample_rates)
def test_audio_signal_from_any_array(array, sample_rate):
    with np.errstate(all="ignore"):
        sig = call(AudioSignal, array, sample_rate=sample_rate)
    if sig is None:
        return
    check_signal(sig)
    assert sig.signal_length == np.asarray(array).shape[-1]
    # the usual operations either work or raise a SepkitError
    with np.errstate(all="ignore"):
        for operation in (
            lambda: sig.to_mono(),
            lambda: sig.peak_normalize(),
            lambda: sig + sig,
            lambda: sig - sig,
            lambda: sig * 0.5,
            lambda: sig / 3,
            lambda: sig.zero_pad(2, 1),
            lambda: sig.truncate(1),
        ):
            result = call(operation)
            if result is not None:
                check_signal(result)
        assert sig.rms().shape == (sig.num_channels,)
        spec = sig.stft(SMALL_PARAMS)
    assert spec.shape == (5, -(-sig.signal_length // 2) + 1, sig.num_channels)
    if np.max(np.abs(sig.audio_data)) < 1e100:  # samples near the float limit overflow the FFT
        assert np.all(np.isfinite(spec))
        back = sig.istft(spec, SMALL_PARAMS)
        check_signal(back)
        scale = max(1.0, float(np.max(np.abs(sig.audio_data))))
        assert np.max(np.abs(back.audio_data - sig.audio_data)) <= 1e-9 * scale


@FUZZ
@given(audio=bounded_audio(), sample_rate=sample_rates, stft_params=stft_params_values(),
       label=st.one_of(st.none(), st.text(max_size=3), st.integers()))
def test_audio_signal_parameters(audio, sample_rate, stft_params, label):
    sig = call(AudioSignal, audio, sample_rate=sample_rate, stft_params=stft_params, label=label)
    if sig is None:
        return
    check_signal(sig)
    assert sig.label == label
    assert sig.stft_params == (stft_params or STFTParams()).resolve(sig.sample_rate)
    spec = sig.stft()
    assert spec.shape[0] == sig.stft_params.n_freq and np.all(np.isfinite(spec))
    back = sig.istft(spec)
    assert np.max(np.abs(back.audio_data - sig.audio_data)) < 1e-9


@FUZZ
@given(
    spec=st.one_of(
        any_arrays(),
        hnp.arrays(np.complex128, st.tuples(st.just(5), st.integers(0, 6), st.integers(0, 3))),
        hnp.arrays(st.sampled_from([np.complex128, np.complex64, np.float64]),
                   st.one_of(st.tuples(st.just(5), st.integers(1, 6)),
                             st.tuples(st.just(5), st.integers(1, 6), st.integers(1, 2))),
                   elements={"min_value": -10, "max_value": 10}),
    ),
    length=lengths,
    sample_rate=st.one_of(st.just(8000), sample_rates),
)
def test_audio_signal_from_any_stft(spec, length, sample_rate):
    with np.errstate(all="ignore"):
        sig = call(AudioSignal, stft=spec, sample_rate=sample_rate, stft_params=SMALL_PARAMS, length=length)
    if sig is None:
        return
    check_signal(sig)
    if length is not None:
        assert sig.signal_length == length


@FUZZ
@given(
    offset=st.one_of(st.floats(0, 0.11), st.floats(allow_nan=True), st.integers(-2, 2), odd_values),
    duration=st.one_of(st.none(), st.floats(0, 0.2), st.floats(allow_nan=True), st.integers(-2, 2), odd_values),
)
def test_audio_signal_file_excerpt(offset, duration, tmp_path_factory):
    path = tmp_path_factory.getbasetemp() / "fuzz_excerpt.wav"
    if not path.exists():
        AudioSignal(np.linspace(-0.5, 0.5, 800), sample_rate=8000).write(path)
    sig = call(AudioSignal, path, offset=offset, duration=duration)
    if sig is not None:
        check_signal(sig)
        assert sig.signal_length <= 800


@FUZZ
@given(path=st.one_of(st.text(max_size=8), st.binary(max_size=4), odd_values))
def test_audio_signal_from_any_path(path):
    sig = call(AudioSignal, path)
    if sig is not None:
        check_signal(sig)


# -- STFTParams -------------------------------------------------------------------------------

lengths_for_params = st.one_of(
    st.none(),
    st.integers(-5, 4096),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([np.int64(64), np.int32(-1), np.uint8(16), "64", True, False, 64.0, [64]]),
)


@FUZZ
@given(window_length=lengths_for_params, hop_length=lengths_for_params, window_type=window_types,
       sample_rate=sample_rates)
def test_stft_params_from_anything(window_length, hop_length, window_type, sample_rate):
    with np.errstate(all="ignore"):
        params = call(STFTParams, window_length, hop_length, window_type)
    if params is None:
        return
    hash(params)
    assert params == STFTParams(window_length, hop_length, window_type)
    if params.is_complete:
        window = params.window
        assert window.shape == (params.window_length,) and np.all(np.isfinite(window))
        assert 1 <= params.hop_length <= params.window_length
    resolved = call(params.resolve, sample_rate)
    if resolved is not None:
        assert resolved.is_complete
        assert resolved.window_length == (params.window_length or resolved.window_length)


@FUZZ
@given(window_type=st.one_of(st.sampled_from(window_names), window_types), window_length=st.integers(1, 64),
       divisor=st.integers(1, 8),
       data=st.data())
def test_valid_params_round_trip(window_type, window_length, divisor, data):
    """Whatever window STFTParams accepts, the STFT inverts it (NOLA is really checked)."""
    hop = max(1, window_length // divisor)
    with np.errstate(all="ignore"):
        params = call(STFTParams, window_length, hop, window_type)
    assume(params is not None and params.is_complete)
    x = data.draw(hnp.arrays(np.float64, (1, data.draw(st.integers(1, 100))), elements=st.floats(-1, 1)))
    y = sepkit.core.istft(sepkit.core.stft(x, params), params, x.shape[1])
    # Independent check of invertibility for this length: every output sample is covered by
    # the squared windows of the frames; the rounding error grows with their conditioning.
    n_samples = x.shape[1]
    n_frames = -(-n_samples // hop) + 1
    weight = np.zeros((n_frames - 1) * hop + window_length)
    for t in range(n_frames):
        weight[t * hop : t * hop + window_length] += params.window**2
    covered = weight[window_length // 2 : window_length // 2 + n_samples]
    assert covered.min() > 0
    assert np.max(np.abs(y - x)) <= 1e-13 * weight.max() / covered.min() + 1e-12


# -- masks ------------------------------------------------------------------------------------


plausible_masks = hnp.arrays(
    st.sampled_from([np.float64, np.float32, np.float16, np.int8, np.uint8, np.bool_]),
    hnp.array_shapes(min_dims=2, max_dims=3, min_side=1, max_side=4),
    elements={"min_value": 0, "max_value": 1},
)


@FUZZ
@given(values=st.one_of(any_arrays(), plausible_masks), cls=st.sampled_from([SoftMask, BinaryMask]),
       copy=st.booleans())
def test_masks_from_any_array(values, cls, copy):
    with np.errstate(all="ignore"):
        mask = call(cls, values, copy=copy)
    if mask is None:
        return
    array = mask.mask
    assert array.ndim == 3 and 0 not in array.shape and not array.flags.writeable
    if cls is BinaryMask:
        assert array.dtype == np.bool_
    else:
        assert array.dtype.kind == "f" and np.all((array >= 0) & (array <= 1))
    inverted = mask.invert()
    assert type(inverted) is cls and inverted.shape == mask.shape
    if cls is SoftMask:
        assert isinstance(call(mask.to_binary, 0.5), BinaryMask)


@FUZZ
@given(shape=st.one_of(st.tuples(st.integers(-2, 4), st.integers(-2, 4)),
                       st.lists(st.integers(-1, 3), max_size=5), st.text(max_size=3), odd_values,
                       st.tuples(st.floats(), st.integers(1, 3))),
       cls=st.sampled_from([SoftMask, BinaryMask]), threshold=st.one_of(st.floats(), st.integers(-1, 2), odd_values))
def test_mask_factories(shape, cls, threshold):
    for factory in (cls.ones, cls.zeros):
        mask = call(factory, shape)
        if mask is not None:
            assert mask.mask.ndim == 3
            if cls is SoftMask:
                binary = call(mask.to_binary, threshold)
                assert binary is None or binary.shape == mask.shape


# -- separators -------------------------------------------------------------------------------


@st.composite
def mixtures(draw):
    """A tiny mixture and its sources: random, silent, or sources that cancel out."""
    n_channels = draw(st.integers(1, 2))
    n_samples = draw(st.integers(8, 80))
    n_sources = draw(st.integers(1, 3))
    kind = draw(st.sampled_from(["random", "silent", "cancel", "one-silent"]))
    rng = np.random.default_rng(draw(st.integers(0, 2**16)))
    stems = rng.uniform(-1, 1, (n_sources, n_channels, n_samples))
    if kind == "silent":
        stems[:] = 0.0
    elif kind == "cancel" and n_sources >= 2:
        stems[1] = -stems[0]
        stems[2:] = 0.0
    elif kind == "one-silent":
        stems[0] = 0.0
    sources = [AudioSignal(s, sample_rate=8000, label=f"s{j}") for j, s in enumerate(stems)]
    mix = AudioSignal(stems.sum(axis=0), sample_rate=8000, label="mix")
    if draw(st.booleans()):
        sources = {f"k{j}": s for j, s in enumerate(sources)}
    return mix, sources


mask_types = st.one_of(
    st.sampled_from(["soft", "binary", "SOFT", "Binary", SoftMask, BinaryMask, "hard", "", None, 1]),
    st.just(SoftMask(np.zeros((2, 2)))),
    st.just(BinaryMask(np.zeros((2, 2)))),
    st.text(max_size=4),
)
thresholds = st.one_of(st.floats(allow_nan=True), st.integers(-1, 2), odd_values)
valid_stft_params = st.one_of(
    st.none(),
    st.builds(STFTParams, st.sampled_from([8, 16, 15]), st.sampled_from([2, 4, 5]),
              st.sampled_from(["hann", "sqrt_hann", "hamming"])),
)

#: name: (valid values, any values) of IdealMask's parameters
IDEAL_MASK_PARAMETERS = {
    "approach": (st.sampled_from(["ibm", "irm-msa", "irm-psa"]),
                 st.one_of(st.sampled_from(["IBM", "irm", None, 0, ["ibm"]]), st.text(max_size=4))),
    "power": (st.sampled_from([1, 2, 1.0, 2.0, np.int64(2)]),
              st.one_of(st.sampled_from([0, 3, True, np.nan, "1", None, 1 + 0j, 2 + 0j]), st.floats(),
                        st.integers(-3, 4), st.complex_numbers(max_magnitude=3))),
    "truncate": (st.sampled_from([True, False, np.bool_(False)]), st.sampled_from([0, 1, "yes", None, 0.5])),
    "normalize": (st.sampled_from(["mixture", "sources"]),
                  st.one_of(st.sampled_from(["Mixture", None, 1]), st.text(max_size=4))),
    "mask_type": (st.sampled_from(["soft", "binary", "Soft", SoftMask, BinaryMask]), mask_types),
    "mask_threshold": (st.floats(0.01, 0.99), thresholds),
    "stft_params": (valid_stft_params, stft_params_values()),
    "sources": (st.just("valid"),
                st.sampled_from(["missing", "empty", "wrong-rate", "wrong-length", "not-signal", "string"])),
}


@st.composite
def mostly_valid(draw, parameters):
    """Keyword arguments where at most two parameters, chosen at random, may be invalid."""
    corrupt = draw(st.sets(st.sampled_from(sorted(parameters)), max_size=2))
    return {name: draw(any_ if name in corrupt else valid) for name, (valid, any_) in parameters.items()}


@FUZZ
@given(data=mixtures(), kwargs=mostly_valid(IDEAL_MASK_PARAMETERS))
def test_ideal_mask_random_parameters(data, kwargs):
    mix, sources = data
    source_list = list(sources.values()) if isinstance(sources, dict) else list(sources)
    bad_sources = kwargs.pop("sources")
    if bad_sources == "missing":
        sources = None
    elif bad_sources == "empty":
        sources = []
    elif bad_sources == "wrong-rate":
        sources = [s.resample(16000) for s in source_list]
    elif bad_sources == "wrong-length":
        sources = [s.zero_pad(0, 1) for s in source_list]
    elif bad_sources == "not-signal":
        sources = [s.audio_data for s in source_list]
    elif bad_sources == "string":
        sources = "sources"
    separator = call(IdealMask, mix, sources, **kwargs)
    if separator is None:
        return
    with np.errstate(all="ignore"):
        estimates = call(separator)
    if estimates is None:
        return
    assert len(estimates) == len(source_list)
    labels = list(sources) if isinstance(sources, dict) else [s.label for s in source_list]
    assert [e.label for e in estimates] == labels
    for estimate in estimates:
        check_signal(estimate)
        assert estimate.audio_data.shape == mix.audio_data.shape and estimate.sample_rate == mix.sample_rate
    for mask in separator.result_masks:
        assert isinstance(mask, separator.mask_type)
    if separator.approach == "ibm":  # the binary masks partition the bins
        assert np.max(np.abs(sum(estimates).audio_data - mix.audio_data)) < 1e-9


HIGH_LOW_PARAMETERS = {
    "cutoff_hz": (
        st.one_of(st.floats(1.0, 3999.0), st.integers(1, 3999), st.sampled_from([Fraction(1000, 3), np.float32(500)])),
        st.one_of(st.floats(allow_nan=True, allow_infinity=True), st.integers(-10, 5000),
                  st.sampled_from([Decimal("100"), 0, 4000, True]), odd_values),
    ),
    "mask_type": (st.sampled_from(["soft", "binary", SoftMask, BinaryMask]), mask_types),
    "stft_params": (valid_stft_params, stft_params_values()),
}


@FUZZ
@given(data=mixtures(), kwargs=mostly_valid(HIGH_LOW_PARAMETERS))
def test_high_low_pass_random_parameters(data, kwargs):
    mix, _ = data
    separator = call(HighLowPassFilter, mix, **kwargs)
    if separator is None:
        return
    estimates = call(separator)
    if estimates is None:
        return
    low, high = estimates
    assert (low.label, high.label) == ("low", "high")
    check_signal(low), check_signal(high)
    # the two masks partition the bins, so the estimates add up to the mixture
    assert np.max(np.abs((low + high).audio_data - mix.audio_data)) < 1e-9


def test_ideal_mask_complex_power_is_a_separation_error():
    """Regression: 1+0j == 1, so a plain `power in (1, 2)` check let it reach int(power)."""
    sig = AudioSignal(np.linspace(-0.5, 0.5, 64), sample_rate=8000)
    for power in (1 + 0j, 2 + 0j, np.complex128(1)):
        with pytest.raises(SepkitError):
            IdealMask(sig, [sig], power=power)


def test_fuzz_strategies_reach_valid_inputs():
    """Guard against strategies that only ever produce errors: a few fixed valid draws."""
    sig = AudioSignal(np.zeros((2, 8)), sample_rate=Fraction(16000, 2))
    assert sig.sample_rate == 8000
    assert STFTParams(8, 2, ("kaiser", 8.0)).is_complete
    assert len(IdealMask(sig, [sig, sig], stft_params=SMALL_PARAMS)()) == 2
    with pytest.raises(SepkitError):
        HighLowPassFilter(sig, cutoff_hz=float("nan"))


# -- every registered separator and every metric: levels, dtypes, NaN/inf, odd inputs -----------
#
# The strategies and the outcome classification below are shared with
# ``benchmarks/fuzz_campaign.py`` (which runs them for thousands of cases and counts the
# outcomes). ``run_case`` never raises: it returns one of OUTCOMES.

import threading  # noqa: E402
import warnings  # noqa: E402

import sepkit.separation.multichannel  # noqa: E402,F401 - registers its separators (if any yet)
import sepkit.separation.spatial  # noqa: E402,F401
from sepkit.evaluation import METRICS  # noqa: E402
from sepkit.separation import available, get_separator  # noqa: E402
from sepkit.separation.registry import Inputs  # noqa: E402

#: ok: finite results of the right shape; sepkit-error: a SepkitError; the rest are defects.
OUTCOMES = ("ok", "sepkit-error", "other-exception", "hang", "nan", "bad-shape", "mutation")
#: Per-example time limit in seconds (numba may compile a separator's kernels on first use).
CASE_TIMEOUT = float(os.environ.get("SEPKIT_FUZZ_TIMEOUT", "120"))

levels = st.one_of(
    st.integers(-300, 300).map(lambda k: 10.0**k),
    st.sampled_from([1.0, 0.5, 1e-310, 5e-324, np.finfo(float).max / 4, 1e300, 1e-300]),
)
audio_kinds = st.sampled_from(["noise", "noise", "noise", "tone", "silent", "one-silent", "cancel", "dc",
                               "nan", "inf"])
audio_dtypes = st.sampled_from([np.float64, np.float64, np.float32, np.int16])


def _stems(kind, n_sources, n_channels, n_samples, level, dtype, seed):
    """Sources ``(n_sources, n_channels, n_samples)`` of the given kind, peak ``level``."""
    rng = np.random.default_rng(seed)
    stems = rng.uniform(-1, 1, (n_sources, n_channels, n_samples))
    if kind == "tone":
        t = np.arange(n_samples)
        stems = np.stack([np.sin(0.05 * (j + 1) * t + j) for j in range(n_sources)])[:, None, :].repeat(n_channels, 1)
    elif kind == "silent":
        stems[:] = 0.0
    elif kind == "one-silent":
        stems[0] = 0.0
    elif kind == "cancel" and n_sources >= 2:
        stems[1] = -stems[0]
    elif kind == "dc":
        stems[:] = 1.0
    with np.errstate(all="ignore"):
        stems = stems * level
        if kind == "nan":
            stems[0, 0, n_samples // 2] = np.nan
        elif kind == "inf":
            stems[-1, -1, 0] = np.inf
        if dtype == np.int16:
            stems = np.clip(np.nan_to_num(stems / max(level, 1e-300) * 30000), -32768, 32767)
        return stems.astype(dtype)


def _mostly(valid, invalid, one_in=6):
    """``valid`` five times in six, else ``invalid`` (a plain ``one_of`` lets hypothesis
    favour the richer strategy, so most cases would fail on the first argument)."""
    return st.integers(1, one_in).flatmap(lambda i: invalid if i == one_in else valid)


@st.composite
def separator_cases(draw, names=None):
    """One call of a registered separator on a tiny mixture: a dict describing it."""
    names = names or available()
    return {
        "target": "separator",
        "name": draw(st.sampled_from(names)),
        "kind": draw(_mostly(st.sampled_from(["noise", "noise", "tone", "one-silent", "cancel", "dc"]),
                             st.sampled_from(["silent", "nan", "inf"]), 5)),
        "n_sources": draw(st.integers(1, 3)),
        "n_channels": draw(st.integers(1, 2)),
        "n_samples": draw(_mostly(st.integers(1600, 4000), st.one_of(st.integers(1, 1600), st.just(2048)), 4)),
        "level": draw(levels),
        "dtype": draw(audio_dtypes),
        "seed": draw(st.integers(0, 2**16)),
        "sample_rate": draw(_mostly(st.sampled_from([8000, 8000, 8000, 16000, 4000]), sample_rates)),
        "num_sources": draw(_mostly(st.none(), st.sampled_from([0, -1, 1.5, "2", True, 9]))),
        "mixture_as": draw(_mostly(st.just("signal"), st.sampled_from(["array", "string", "ragged"]), 8)),
    }


@st.composite
def metric_cases(draw, names=None):
    """One call of a registered metric: a dict describing references, estimates and keywords."""
    names = names or sorted(METRICS)
    n_sources = draw(st.integers(1, 3))
    same_level = draw(st.booleans())
    level_r = draw(levels)
    return {
        "target": "metric",
        "name": draw(st.sampled_from(names)),
        "n_sources": n_sources,
        "n_estimates": draw(st.sampled_from([n_sources, n_sources, n_sources + 1, max(n_sources - 1, 1)])),
        "n_channels": draw(st.integers(1, 2)),
        "n_samples": draw(st.one_of(st.integers(1, 300), st.sampled_from([0, 2000]))),
        "kind_r": draw(audio_kinds),
        "kind_e": draw(audio_kinds),
        "level_r": level_r,
        "level_e": level_r if same_level else draw(levels),
        "dtype": draw(st.sampled_from([np.float64, np.float64, np.float32, np.int16, np.complex128, np.bool_])),
        "form": draw(st.sampled_from(["array"] * 6 + ["signals", "ragged", "string", "2d"])),
        "seed": draw(st.integers(0, 2**16)),
        "sample_rate": draw(_mostly(st.sampled_from([None, 8000, 8000]), sample_rates)),
        "filters_len": draw(st.one_of(st.integers(1, 8), st.sampled_from([0, -1, True, 2.5, "4", 64]))),
        "window": draw(st.one_of(st.none(), st.sampled_from([0.005, 0.01, 1.0, True, -1.0, np.nan]))),
        "compute_permutation": draw(st.booleans()),
    }


def _notes():
    if not hasattr(_notes, "value"):
        _notes.value = sepkit.datasets.load_example_notes(("violin", "clarinet"))
    return _notes.value


def _separator_call(case):
    """(function to run, arrays it must not change, check of its result)."""
    stems = _stems(case["kind"], case["n_sources"], case["n_channels"], case["n_samples"], case["level"],
                   case["dtype"], case["seed"])
    with np.errstate(all="ignore"):
        mix_array = stems.sum(axis=0).astype(case["dtype"])
    keep = [stems, mix_array]
    entry = get_separator(case["name"])
    rate = case["sample_rate"]

    def run():
        mix = AudioSignal(mix_array, sample_rate=rate, label="mix")
        sources = {f"s{j}": AudioSignal(s, sample_rate=rate, label=f"s{j}") for j, s in enumerate(stems)}
        num = case["num_sources"] if case["num_sources"] is not None else case["n_sources"]
        inputs = Inputs(num_sources=num, references=sources, estimates=list(sources.values()), score=_notes(),
                        seed=case["seed"])
        target = {"signal": mix, "array": mix_array, "string": "mix.wav", "ragged": [[0.1, 0.2], [0.3]]}[
            case["mixture_as"]
        ]
        separator = entry.build(target, inputs, **entry.quick)
        estimates = separator()
        return mix, estimates

    def check(result):
        mix, estimates = result
        if not isinstance(estimates, list) or not estimates:
            return "bad-shape"
        for est in estimates:
            if not isinstance(est, AudioSignal) or est.audio_data.shape != mix.audio_data.shape:
                return "bad-shape"
            if not np.all(np.isfinite(est.audio_data)):
                return "nan"
        return "ok"

    return run, keep, check


def _metric_inputs(case):
    S, E, C, N = case["n_sources"], case["n_estimates"], case["n_channels"], case["n_samples"]
    refs = _stems(case["kind_r"], S, C, max(N, 1), case["level_r"], np.float64, case["seed"])[..., :N]
    ests = _stems(case["kind_e"], E, C, max(N, 1), case["level_e"], np.float64, case["seed"] + 1)[..., :N]
    with np.errstate(all="ignore"):
        refs, ests = refs.astype(case["dtype"]), ests.astype(case["dtype"])
    form = case["form"]
    if form == "ragged":
        return [list(r[0]) for r in refs] + [[0.0]], [list(e[0]) for e in ests], (refs, ests)
    if form == "string":
        return "references", ests, (refs, ests)
    if form == "2d":
        return refs[:, 0], ests[:, 0], (refs, ests)
    if form == "signals":
        rate = case["sample_rate"] if case["sample_rate"] is not None else 8000
        return ([AudioSignal(r, sample_rate=rate) for r in refs], [AudioSignal(e, sample_rate=rate) for e in ests],
                (refs, ests))
    return refs, ests, (refs, ests)


def _metric_call(case):
    spec = METRICS[case["name"]]
    holder = {}

    def run():
        references, estimates, arrays = _metric_inputs(case)
        holder["arrays"] = [a.copy() for a in arrays]
        holder["live"] = arrays
        function = spec.resolve()
        kwargs = dict(spec.kwargs)
        kwargs["compute_permutation"] = case["compute_permutation"]
        if spec.needs_mixture:
            with np.errstate(all="ignore"):
                kwargs["mixture"] = arrays[0].sum(axis=0) if arrays[0].dtype.kind in "fc" else None
        if case["name"] == "bss_eval_v4":
            kwargs.update(window=case["window"], hop=case["window"], filters_len=case["filters_len"],
                          sample_rate=case["sample_rate"])
        elif case["name"] in ("bss_eval_sources", "bss_eval_images"):
            kwargs["filters_len"] = case["filters_len"]
        else:
            kwargs["sample_rate"] = case["sample_rate"]
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            scores = function(references, estimates, **kwargs)
        return scores, [w for w in caught if issubclass(w.category, RuntimeWarning)]

    def check(result):
        scores, runtime_warnings = result
        n_refs = case["n_sources"]
        for key, value in scores.values.items():
            value = np.asarray(value)
            if value.ndim != 2 or value.shape[0] != n_refs:
                return "bad-shape"
            if np.any(np.isnan(value)) and not runtime_warnings:
                return "nan"  # a NaN score must come with a warning saying why
        return "ok"

    return run, holder, check


def run_case(case, timeout=None):
    """Run one fuzz case; return ``(outcome, detail)`` with outcome in :data:`OUTCOMES`."""
    timeout = CASE_TIMEOUT if timeout is None else timeout
    if case["target"] == "separator":
        run, keep, check = _separator_call(case)
        copies = [k.copy() for k in keep]
    else:
        run, holder, check = _metric_call(case)
    box = {}

    def target():
        try:
            with np.errstate(all="ignore"), warnings.catch_warnings():
                warnings.simplefilter("ignore")
                box["result"] = run()
        except SepkitError as err:
            box["error"] = ("sepkit-error", f"{type(err).__name__}: {err}")
        except BaseException as err:  # noqa: BLE001 - classified, not swallowed
            box["error"] = ("other-exception", f"{type(err).__name__}: {err}")

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    thread.join(timeout)
    if thread.is_alive():
        return "hang", f"no answer within {timeout} s"
    if case["target"] == "separator":
        if any(not np.array_equal(k, c, equal_nan=True) for k, c in zip(keep, copies)):
            return "mutation", "an input array changed"
    elif "arrays" in holder and any(
        not np.array_equal(a, c, equal_nan=True) for a, c in zip(holder["live"], holder["arrays"])
    ):
        return "mutation", "an input array changed"
    if "error" in box:
        return box["error"]
    outcome = check(box["result"])
    return outcome, "" if outcome == "ok" else "see the case"


REGISTRY_FUZZ = settings(FUZZ, max_examples=int(os.environ.get("SEPKIT_FUZZ_EXAMPLES", "40")))


@REGISTRY_FUZZ
@given(case=separator_cases())
def test_every_registered_separator_on_any_level_and_input(case):
    outcome, detail = run_case(case)
    event(f"{case['name']}: {outcome}")
    assert outcome in ("ok", "sepkit-error"), (outcome, detail, case)


@REGISTRY_FUZZ
@given(case=metric_cases())
def test_every_metric_on_any_level_and_input(case):
    outcome, detail = run_case(case)
    event(f"{case['name']}: {outcome}")
    assert outcome in ("ok", "sepkit-error"), (outcome, detail, case)
