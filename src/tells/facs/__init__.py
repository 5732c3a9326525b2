"""FACS action units from pose-normalised face geometry and local appearance.

Owns: measurements of a face (:mod:`~tells.facs.features`), the person's neutral face estimated
while streaming (:mod:`~tells.facs.baseline`), action-unit intensities and presence
(:mod:`~tells.facs.aus`, :class:`~tells.facs.stage.AUStage`), EMFACS prototype scores
(:mod:`~tells.facs.prototypes`) and the face warp that shows chosen action units on a photo,
used as a test oracle and for training stimuli (:func:`tells.facs.synth.synth_face`).

May import ``tells.io`` and ``tells.face``; never ``emotion``, ``spotting``, ``cli``.
"""
