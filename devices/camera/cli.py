"""Technician command for the camera (registered under `hpf-kiosk devices`).

    hpf-kiosk devices capture-face [--source IDX|FILE|URL] [--timeout S] [--liveness KIND] [--out FILE.jpg] [--json]

Uses the configured camera unless --source is given (then OpenCV on that device index, file or URL).
Prints the quality figures of the captured frame (or of the last frame tried). The photo is written only
with --out. Exit status: 0 a face passing the gates was captured, 1 not (no face / gates / liveness / no
camera), 130 interrupted.
"""
from __future__ import annotations

import json
import sys

FIGURES = (("faces", "人脸数"), ("size_ratio", "人脸宽度占比"), ("centre_dx", "水平偏移"), ("centre_dy", "垂直偏移"),
           ("mean", "亮度均值"), ("std", "亮度标准差"), ("clipped", "过曝/欠曝比例"), ("sharpness", "清晰度"),
           ("elapsed_ms", "检测耗时ms"))


def register(sub, common) -> None:
    p = sub.add_parser("capture-face", parents=[common],
                       help="capture a face with the quality gates and print the figures (exit 0 only on success)")
    p.add_argument("--source", metavar="IDX|FILE|URL",
                   help="camera device index, video file or stream URL (default: the configured camera)")
    p.add_argument("--timeout", type=float, default=20.0, metavar="S", help="seconds to try (default 20)")
    p.add_argument("--liveness", choices=("none", "blink", "turn_head", "random"), default="none",
                   help="simple liveness challenge (not certified liveness; default none)")
    p.add_argument("--out", metavar="FILE.jpg", help="write the portrait JPEG here (otherwise nothing is saved)")
    p.add_argument("--json", action="store_true")
    p.add_argument("--quiet", action="store_true", help="do not print guidance while trying")
    p.set_defaults(func=cmd_capture_face)


def _open_camera(args):
    """(camera, None) or (None, reason)."""
    if args.source is not None:
        from devices.camera.camera import build_camera
        from devices.camera.source import parse_source
        try:
            source = parse_source(args.source)
        except ValueError as exc:
            return None, str(exc)
        return build_camera(source), None
    from devices import registry
    from kiosk.cli.main import load
    built = registry.build(load(args), "camera")
    if built.device is None:
        return None, built.usability.missing or f"no camera (backend {built.backend})"
    return built.device, None


def cmd_capture_face(args) -> int:
    if args.timeout <= 0:
        print("--timeout must be more than 0 seconds", file=sys.stderr)
        return 1
    camera, why = _open_camera(args)
    if camera is None:
        _print_result(args, {"result": "deviceNotReady", "code": "NO_DEVICE", "detail": why,
                             "message": "摄像头未就绪，请联系工作人员"})
        return 1
    last_guidance = [""]

    def progress(report):
        if args.quiet or args.json or report.guidance_zh == last_guidance[0]:
            return
        last_guidance[0] = report.guidance_zh
        print(f"  … {report.guidance_zh}  ({report.code.value})", file=sys.stderr, flush=True)

    handle = None
    try:
        handle = camera.capture_face(timeout=args.timeout, on_progress=progress,
                                     liveness=None if args.liveness == "none" else args.liveness)
        completion = handle.result()
    except KeyboardInterrupt:
        if handle:
            handle.cancel()
        camera.close()
        return 130
    out = {"result": completion.code.value, "code": completion.error_code, "detail": completion.description,
           "message": completion.message}
    if completion.ok:
        face = completion.value
        out.update(face.summary())
        if args.out:
            try:
                out["file"] = str(face.save(args.out))
            except OSError as exc:
                out.update(result="invalidData", code="OUT_UNWRITABLE", detail=f"cannot write {args.out}: {exc}")
                completion = None
        face.wipe()
    elif completion.value is not None and hasattr(completion.value, "as_dict"):
        out["quality"] = completion.value.as_dict()
    camera.close()
    _print_result(args, out)
    return 0 if completion is not None and completion.ok else 1


def _print_result(args, out: dict) -> None:
    if args.json:
        print(json.dumps(out, ensure_ascii=False, indent=2, default=list))
        return
    ok = out["result"] == "success"
    print(f"{'已采集' if ok else '未采集'}: {out['message']}  [{out['result']} {out.get('code', '')}]")
    print(f"  {out.get('detail', '')}")
    q = out.get("quality")
    if q:
        for key, label in FIGURES:
            if q.get(key) is not None:
                print(f"  {label:<10} {q[key]}")
    if ok:
        print(f"  照片 {out['width']}x{out['height']} JPEG q{out['jpeg_quality']} {out['size_bytes']} 字节, "
              f"人脸宽 {out['face_width_px']} px")
        if out.get("liveness"):
            lv = out["liveness"]
            print(f"  动作检测 {lv['kind']}: {'通过' if lv['passed'] else '未通过'}（非认证活体检测）")
        if out.get("file"):
            print(f"  已保存 {out['file']}")
