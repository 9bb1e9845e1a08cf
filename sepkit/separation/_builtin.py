"""TEMPORARY: registrations, to be moved next to each class."""

from .dictsep import DictSep
from .nmf import NMF, NMFD, SNPA
from .registry import DemoRow, register

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
