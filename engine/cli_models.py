"""`pocketsr models`: list the embedded and added models, describe files, add a peer model."""

from __future__ import annotations

import argparse
from typing import Any

from .cli_common import EXIT_FAILED, EXIT_OK, EXIT_SETUP, UsageError, say


def describe(info: Any) -> str:
    """A model's name, scale, channels, version and licence, then its description, speed,
    strength partner and path."""
    lines = [
        f"{info.name}  x{info.scale}  {info.in_channels}->{info.out_channels} channels"
        f"  version {info.version}  licence {info.license}"
    ]
    if info.description:
        lines.append(f"    {info.description}")
    speed = dict(info.extra).get("pocketsr.speed_mps_1thread")
    if speed:
        lines.append(
            f"    speed: {speed} output megapixels/s on one CPU thread (measured when added)"
        )
    if info.has_strength:
        end = "fidelity" if info.strength == 0 else "detail" if info.strength == 1 else "mixed"
        lines.append(
            f"    strength: mixes with {info.partner} from 0 (fidelity) to 1 (detail); "
            f"these are the {end} weights ({info.strength:g})"
        )
    if info.path:
        lines.append(f"    {info.path}")
    return "\n".join(lines)


def cmd_models_add(args: argparse.Namespace) -> int:
    """`pocketsr models add NAME`: convert an installed peer model into the models folder."""
    from .convert import PEERS, convert_peer
    from .errors import PocketSRError
    from .upscaler import user_models_dir

    names = args.paths[1:]
    if len(names) != 1 or names[0] not in PEERS:
        raise UsageError(f"`models add` takes one of: {', '.join(sorted(PEERS))}")
    folder = args.models_dir or user_models_dir()
    say(f"converting {names[0]}: measuring its tile overlap and speed takes a few minutes...")
    try:
        path = convert_peer(PEERS[names[0]], folder, overwrite=args.overwrite)
    except PocketSRError as exc:
        say(str(exc))
        return EXIT_SETUP
    from . import load_model_info

    print(describe(load_model_info(path)))
    return EXIT_OK


def cmd_models(args: argparse.Namespace) -> int:
    """`pocketsr models`: the embedded and added models, then each given .onnx file."""
    from .errors import PocketSRError

    if args.paths[:1] == ["add"]:
        return cmd_models_add(args)
    status = EXIT_OK
    try:
        from . import embedded_models  # type: ignore[attr-defined]
        from .upscaler import user_models, user_models_dir

        embedded = list(embedded_models().values())
        added = list(user_models().values())
    except ImportError as exc:
        say(f"the engine cannot be loaded: {exc}.")
        return EXIT_SETUP
    print("embedded models:" if embedded else "no embedded models in this installation.")
    for info in embedded:
        print("  " + describe(info).replace("\n", "\n  "))
    if added:
        print(f"added models ({user_models_dir()}):")
    for info in added:
        print("  " + describe(info).replace("\n", "\n  "))
    for path in args.paths:
        try:
            from . import Upscaler  # type: ignore[attr-defined]

            info = Upscaler(model=path, device="cpu").info
            print(describe(info))
        except PocketSRError as exc:
            say(f"{path}: {exc}")
            status = EXIT_FAILED
    return status
