"""The issue experiment: DictSep in faithful mode on the notes' 3-s synthetic signal (about 40 s).

``n_iter=2000``, seeds 0 and 1 (one dictionary each, as the original's ``num_dicts=2``). The
original (Musisep) reaches 13.5 / 14.0 dB (seed 0) and 10.3 / 11.0 dB (seed 1) with its
gain-only SDR; sepkit measured 11.2 / 11.8 and 12.3 / 12.8 dB (mean 12.0 dB), see
``benchmarks/dictsep_synthetic.py``. Seeds are not comparable one to one (other random
streams).
"""

import numpy as np

from sepkit import AudioSignal
from sepkit.evaluation.bss_eval_gain import bss_eval_gain
from sepkit.separation.dictsep import DictSep, synthetic_parts
from sepkit.separation.dictsep.synthetic import part_a_amplitudes, part_b_amplitudes


def test_faithful_mode_on_synthetic_signal():
    part_a, part_b = synthetic_parts(seconds=3.0)
    refs = np.stack([part_a, part_b])[:, None, :]
    mix = AudioSignal(part_a + part_b, sample_rate=44100)
    true = np.stack([part_a_amplitudes(), part_b_amplitudes()], axis=1)
    true /= true.max(axis=0)
    sdrs = []
    for seed in (0, 1):
        sep = DictSep(mix, 2, n_iter=2000, num_dicts=1, seed=seed, verbose=False)
        estimates = sep()
        D = sep.dictionary.values
        # the learned columns are close to the true profiles (measured max error 0.03-0.09)
        err = [np.abs(D[:, perm] - true).max(axis=0) for perm in ([0, 1], [1, 0])]
        best = min(err, key=lambda e: e.sum())
        assert np.all(best < 0.15), best
        est = np.stack([e.audio_data for e in estimates])
        sdrs.append(bss_eval_gain(refs, est, compute_permutation=True).values["SDR"].ravel())
    sdrs = np.array(sdrs)
    assert sdrs.mean() >= 11.0, sdrs
    assert sdrs.min() >= 9.5, sdrs
