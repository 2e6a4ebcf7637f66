"""Warnings about a valid config: things that run but will not do what the installer likely wants."""

from __future__ import annotations

from collections.abc import Mapping

from streetwatch.edge.config import CameraConfig, EdgeConfig, ModelConfig, VendingRule, area_in_frame
from streetwatch.edge.vending import evidence_classes, uses_proxies


def warnings_for(
    config: EdgeConfig,
    model_names: tuple[str, ...] | None,
    camera_model_names: Mapping[str, tuple[str, ...]] | None = None,
    frame_sizes: Mapping[str, tuple[int, int]] | None = None,
) -> list[str]:
    """`model_names`: the box model's classes (None: not checked); `camera_model_names`: the classes of
    cameras that run their own model, by camera id; `frame_sizes`: (width, height) of the cameras whose
    picture size `check` could read (video files) without the config stating it."""
    camera_model_names = camera_model_names or {}
    frame_sizes = frame_sizes or {}
    out: list[str] = []
    if config.device.token is not None:
        out.append("device.token is written in the file; prefer device.token_env so the secret stays out of it")
    if config.api.enabled and config.api.host not in ("127.0.0.1", "localhost", "::1"):
        out.append(f"api.host {config.api.host} is not loopback: the local API has no authentication")
    if config.rules.time_scale != 1.0:
        out.append(f"rules.time_scale is {config.rules.time_scale}: rule times are not real seconds (demo/test only)")
    for camera in config.cameras:
        names = camera_model_names.get(camera.id) if camera.model is not None else model_names
        if not camera.zones:
            out.append(f"camera {camera.id}: no zones, so no rule will ever fire on it")
        for zone in camera.zones:
            rule = config.zone_rule(zone)
            size = frame_sizes.get(camera.id)
            if size is not None and area_in_frame(zone.polygon, *size) <= 0:
                out.append(
                    f"camera {camera.id} zone {zone.id}: the polygon lies wholly outside the {size[0]}x{size[1]} "
                    f"picture of {camera.source}, so {zone.violation} will never be filed there"
                )
            if names is not None:
                have = evidence_classes(rule, names)
                if not have:
                    wanted = list(rule.classes)
                    if isinstance(rule, VendingRule):
                        keeper = f"with a stationary {'/'.join(rule.keeper_classes) or 'nobody'}"
                        alone = set(rule.proxy_alone) if rule.lone_proxy_still_s is None else set(rule.proxy_classes)
                        wanted += [
                            f"{c} ({keeper})" if c in alone else f"{c} (beside another proxy, {keeper})"
                            for c in rule.proxy_classes
                        ]
                    out.append(
                        f"camera {camera.id} zone {zone.id} ({zone.type}): the model has none of "
                        f"{', '.join(wanted)}, so {zone.violation} will never be filed"
                    )
                elif not _proxied(rule, names) and len(have) < len(rule.classes):
                    missing = [c for c in rule.classes if c not in names]
                    out.append(
                        f"camera {camera.id} zone {zone.id} ({zone.type}): the model lacks {', '.join(missing)}; "
                        f"only {', '.join(have)} count"
                    )
        if config.storage.privacy_filter != "none" and names is not None and "person" not in names:
            out.append(
                f"camera {camera.id}: its model has no person class, so people are not hidden in the public "
                "copies of its evidence (storage.privacy_filter); only plates are"
            )
        out.extend(_clip_spans(config, camera))
        if not camera.location.address and not camera.location.grid_code:
            out.append(f"camera {camera.id}: location has neither address nor grid_code; inspectors need one")
        if camera.model is not None and names is not None:
            out.extend(_unknown_class_conf(camera.model, names, f"camera {camera.id}: model.class_conf"))
    if model_names is not None:
        out.extend(_unknown_class_conf(config.model, model_names, "model.class_conf"))
    return out


def _clip_spans(config: EdgeConfig, camera: CameraConfig) -> list[str]:
    """Zones whose shortest case (dwell, or presence episode) plus the clip's margins is longer than
    the camera's packet ring: their clips would start after first seen."""
    clip = camera.clip
    if not clip.enabled:
        return []
    out = []
    for zone in camera.zones:
        rule = config.zone_rule(zone)
        span = float(getattr(rule, "dwell_s", None) or getattr(rule, "min_duration_s", 0) or 0)
        need = span * config.rules.time_scale + clip.before_s + clip.after_s
        if need > clip.buffer_s:
            out.append(
                f"camera {camera.id} zone {zone.id}: a case spans at least {need:.0f} s with the clip's margins, "
                f"longer than clip.buffer_s ({clip.buffer_s:.0f} s): its clips will start after first seen"
            )
    return out


def _proxied(rule: object, names: tuple[str, ...]) -> bool:
    """A vending rule on a model without `stall`: stall proxies stand in, so no class is "missing"."""
    return isinstance(rule, VendingRule) and uses_proxies(rule, names)


def _unknown_class_conf(model: ModelConfig, names: tuple[str, ...], where: str) -> list[str]:
    unknown = [n for n in model.class_conf if n not in names]
    if not unknown:
        return []
    return [f"{where} names classes the model does not have: {', '.join(unknown)} (ignored)"]
