"""The viewer's remembered settings (QSettings): model, scale, tile, device, files, window."""

from __future__ import annotations

from dataclasses import dataclass, field

from PySide6.QtCore import QByteArray, QSettings

from pocketsr.engine import DEFAULT_MODEL
from pocketsr.plugin.pocketsr_link import wire

ORGANISATION = "PocketSR"
APPLICATION = "Viewer"
MAX_RECENT = 10


@dataclass
class PanelOptions:
    """The options panel's remembered values (spin boxes: 0 means "not set" / automatic).

    engine_options() turns them into the engine's one options schema (wire.UpscaleOptions).
    """

    model: str = DEFAULT_MODEL  # an embedded model name or a path to a user .onnx file
    scale: float = 0.0  # 0: the model's native factor
    width: int = 0  # a target size instead of scale when width or height is set
    height: int = 0
    tile: int = 0  # 0: automatic
    device: str = "auto"
    user_models: list[str] = field(default_factory=list)
    strength: float = 1.0  # 0 fidelity .. 1 detail; only models with a partner use it
    alpha_mode: str = wire.ALPHA_RESAMPLE
    seamless: bool = False

    def engine_options(self) -> wire.UpscaleOptions:
        """These values as the engine's options (a target size wins over the scale)."""
        sized = bool(self.width or self.height)
        return wire.UpscaleOptions(
            model=self.model or None,
            scale=None if sized or not self.scale else self.scale,
            size=wire.Size(self.width, self.height) if sized else None,
            tile=wire.tile_from_host(self.tile),
            device=self.device,
            strength=self.strength,
            alpha_mode=self.alpha_mode,
            seamless=self.seamless,
        )


class Settings:
    """Typed access to the viewer's QSettings store."""

    def __init__(self, store: QSettings | None = None) -> None:
        self.store = store or QSettings(ORGANISATION, APPLICATION)

    def options(self) -> PanelOptions:
        """The remembered upscale options (defaults where nothing was saved)."""
        s = self.store
        default = PanelOptions()
        return PanelOptions(
            model=str(s.value("upscale/model", default.model)),
            scale=float(s.value("upscale/scale", default.scale)),
            width=int(s.value("upscale/width", 0)),
            height=int(s.value("upscale/height", 0)),
            tile=int(s.value("upscale/tile", 0)),
            device=str(s.value("upscale/device", default.device)),
            user_models=_strings(s.value("upscale/user_models", [])),
            strength=min(1.0, max(0.0, float(s.value("upscale/strength", default.strength)))),
            alpha_mode=_choice(s.value("upscale/alpha_mode"), wire.ALPHA_MODES),
            seamless=str(s.value("upscale/seamless", "false")).lower() == "true",
        )

    def set_options(self, options: PanelOptions) -> None:
        """Remember upscale options."""
        s = self.store
        s.setValue("upscale/model", options.model)
        s.setValue("upscale/scale", options.scale)
        s.setValue("upscale/width", options.width)
        s.setValue("upscale/height", options.height)
        s.setValue("upscale/tile", options.tile)
        s.setValue("upscale/device", options.device)
        s.setValue("upscale/user_models", list(options.user_models))
        s.setValue("upscale/strength", options.strength)
        s.setValue("upscale/alpha_mode", options.alpha_mode)
        s.setValue("upscale/seamless", "true" if options.seamless else "false")

    def recent_files(self) -> list[str]:
        """Recently opened files, newest first."""
        return _strings(self.store.value("files/recent", []))

    def add_recent(self, path: str) -> list[str]:
        """Put a path at the top of the recent files; returns the new list."""
        recent = [path] + [p for p in self.recent_files() if p != path]
        recent = recent[:MAX_RECENT]
        self.store.setValue("files/recent", recent)
        return recent

    def clear_recent(self) -> None:
        """Forget the recent files."""
        self.store.setValue("files/recent", [])

    def output_folder(self) -> str:
        """The batch queue's output folder ('' when none was chosen)."""
        return str(self.store.value("files/output_folder", ""))

    def set_output_folder(self, folder: str) -> None:
        """Remember the batch queue's output folder."""
        self.store.setValue("files/output_folder", folder)

    def last_folder(self) -> str:
        """The folder of the last open or save dialog."""
        return str(self.store.value("files/last_folder", ""))

    def set_last_folder(self, folder: str) -> None:
        """Remember the folder of the last open or save dialog."""
        self.store.setValue("files/last_folder", folder)

    def window_state(self) -> tuple[QByteArray | None, QByteArray | None]:
        """(geometry, dock/toolbar state) saved by the main window, or None each."""
        return self.store.value("window/geometry"), self.store.value("window/state")

    def set_window_state(self, geometry: QByteArray, state: QByteArray) -> None:
        """Remember the main window's geometry and dock/toolbar state."""
        self.store.setValue("window/geometry", geometry)
        self.store.setValue("window/state", state)

    def sync(self) -> None:
        """Write pending changes to disk."""
        self.store.sync()


def _choice(value: object, choices: tuple[str, ...]) -> str:
    """A saved choice when it is still one of choices, else the first."""
    return str(value) if value in choices else choices[0]


def _strings(value: object) -> list[str]:
    """QSettings hands back a str, a list or None for a saved list: always a list of str."""
    if value is None or value == "":
        return []
    if isinstance(value, str):
        return [value]
    return [str(v) for v in value]  # type: ignore[union-attr]
