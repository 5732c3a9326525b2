"""Eight emotion probabilities per face per frame.

Owns: the appearance CNN (:mod:`~tells.emotion.cnn`, fer's mini-Xception run with LiteRT), a
second appearance net (:mod:`~tells.emotion.faceapi`, face-api's expression net in numpy), the
fusion with EMFACS action-unit scores (:mod:`~tells.emotion.fusion`, which also gives contempt),
flash-preserving temporal smoothing (:mod:`~tells.emotion.smooth`) and the pipeline stage
(:class:`~tells.emotion.stage.EmotionStage`); single images via :mod:`~tells.emotion.still`.

May import ``tells.io``, ``tells.face`` and ``tells.facs``; never ``spotting`` or ``cli``.
"""
