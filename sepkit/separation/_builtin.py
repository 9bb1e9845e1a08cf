"""TEMPORARY: registrations, to be moved next to each class."""

from .benchmark import HighLowPassFilter, IdealMask, MixAsEstimate
from .dictsep import DictSep
from .nmf import NMF, NMFD, SNPA
from .registry import DemoRow, register
from .wiener import WienerFilter

_IDEAL = {
    "ibm": "ideal binary mask (oracle)",
    "irm-msa": "ideal ratio mask, magnitude approximation (oracle)",
    "irm-psa": "ideal ratio mask, phase-sensitive, truncated (oracle)",
}
_IDEAL_DEMO = {
    "ibm": (DemoRow("chorale", "IdealMask ibm", order=0), DemoRow("stereo", "IdealMask ibm", order=0)),
    "irm-msa": (
        DemoRow("chorale", "IdealMask irm-msa", order=1),
        DemoRow("chorale", "IdealMask irm-msa power=2", {"power": 2}, order=2),
        DemoRow("chorale", "IdealMask irm-msa binary", {"mask_type": "binary"}, order=3),
    ),
    "irm-psa": (
        DemoRow("chorale", "IdealMask irm-psa", order=4),
        DemoRow("chorale", "IdealMask irm-psa nussl", {"normalize": "sources"}, order=5),
    ),
}
for _approach, _text in _IDEAL.items():
    register(_approach, IdealMask, _text, needs=("references",), oracle=True, defaults={"approach": _approach},
             argument_names={"references": "sources"}, demo=_IDEAL_DEMO[_approach])

register(
    "wiener", WienerFilter, "multichannel Wiener filter (1 EM iteration) refining --estimates",
    needs=("estimates",), defaults={"iterations": 1},
    demo=(
        DemoRow("chorale", "WienerFilter on ibm", order=6),
        DemoRow("stereo", "WienerFilter on ibm, 1 EM it.", order=1),
        DemoRow("stereo", "WienerFilter on ibm, 3 EM it.", {"iterations": 3}, order=2),
    ),
)
register(
    "mix-as-estimate", MixAsEstimate, "every estimate is the mixture, once per source (lower baseline)",
    needs=("num_sources",),
    demo=(DemoRow("chorale", "MixAsEstimate", order=90), DemoRow("duet", "MixAsEstimate", order=90),
          DemoRow("drums", "MixAsEstimate", order=90)),
)
register(
    "high-low-pass", HighLowPassFilter, "split the spectrum at cutoff_hz into low and high (lower baseline)",
    defaults={"cutoff_hz": 150.0},
    demo=(DemoRow("chorale", "HighLowPassFilter 150 Hz", blind=True, order=91),),
)


register(
    "nmf", NMF, "blind KL-NMF, 8 components per source grouped by MFCC + k-means",
    needs=("num_sources",), quick={"n_components": 4, "n_iter": 2},
    demo=(
        DemoRow("duet", "NMF blind (16 comp., MFCC)", {"n_iter": 100}, blind=True, order=20),
        DemoRow("drums", "NMF blind (24 comp., centroid)", {"grouping": "centroid"}, blind=True, order=20),
    ),
)
register(
    "nmf-score", NMF, "score-informed NMF: comb templates and note gates from a notes CSV",
    needs=("score",), quick={"n_iter": 2},
    demo=(DemoRow("chorale", "NMF score-informed", {"n_iter": 100}, order=10),
          DemoRow("duet", "NMF score-informed", {"n_iter": 100}, order=0)),
)
register(
    "snpa", SNPA, "separable NMF (mixture frames as templates) + 100 KL-NMF iterations",
    needs=("num_sources",), defaults={"n_iter": 100},
    quick={"n_components": 4, "n_iter": 2},
    demo=(DemoRow("duet", "SNPA + 100 NMF it.", blind=True, order=30),),
)


def _nmfd_arguments(mix, inputs):
    """NMFD: templates learned from one-shot ``samples`` (else blind, one component per source)."""
    kwargs = {"seed": inputs.seed, "activations": inputs.onsets}
    if inputs.samples is not None:
        kwargs["templates"] = NMFD.templates_from_samples(inputs.samples, stft_params=mix.stft_params,
                                                          seed=inputs.seed)
    else:
        kwargs["n_components"] = inputs.num_sources
    return kwargs


register(
    "nmfd", NMFD,
    "NMFD, one component per drum: templates from --samples, activations from --onsets "
    "(both optional; blind with --num-sources)",
    needs=(("samples", "num_sources"),), arguments=_nmfd_arguments, quick={"n_iter": 2},
    demo=(
        DemoRow("drums", "NMFD one-shot templates + onsets", use=("samples", "onsets"), order=0),
        DemoRow("drums", "NMFD one-shot templates", use=("samples",), order=1),
        DemoRow("drums", "NMFD blind (3 components)", use=("num_sources",), blind=True, order=2),
    ),
)
register(
    "dictsep", DictSep,
    "DictSep, fast mode: harmonic dictionary learned from the mixture, sparse pursuit "
    "(44.1 kHz material; about 3 s of computing per second of audio on 2 cores)",
    needs=("num_sources",), defaults={"mode": "fast", "verbose": False}, evaluate=False,
    demo=(DemoRow("duet", "DictSep blind (fast, 4 x 2000 steps)", {"runs": 2000, "num_dicts": 4}, blind=True,
                  order=10),),
    quick={"runs": 20, "lifetime": 20, "num_dicts": 2},
)
