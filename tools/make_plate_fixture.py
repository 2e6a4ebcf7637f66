"""Build the plate-reading fixture in tests/data/plates/ (run once; the output is committed).

Two parts, both on real photos of parked cars from garbage-cn (CC BY 4.0, see tests/data/NOTICE):
- `real-*.jpg`: vehicle crops as the detector finds them. Every plate in this source is a few
  pixels high (640x640 frames of whole streets); a person cannot read one whole, so the label is
  "illegible" and the right answer is `unread`. They measure the false-read (guess) rate.
- `rendered-*.jpg`: the same cars with a plate drawn over where their own plate is (Noto Sans
  CJK, SIL OFL 1.1), in the blue regular and green new-energy layouts, at two sizes, softened and
  JPEG-compressed like a camera frame. The label is the drawn number. They measure read rate and
  exact-match accuracy of the reader on legible plates; they are synthetic plates on real cars,
  not real plates, and the closing figures say so.
- `hyperlpr-*.jpg`: real photos with real plates from the HyperLPR repository (Apache-2.0, (c) its
  authors, https://github.com/szad670401/HyperLPR at commit 9307450), cropped to the vehicle (the
  reader's input; a close-up of a bumper is kept whole). Texts read by eye on enlarged crops;
  plates that cannot be read with certainty are labelled illegible. `real: true` marks them and
  the garbage-cn crops; `streetwatch bench plates` reports the real legible ones apart.

Usage: python tools/make_plate_fixture.py GARBAGE_CN_IMAGES_DIR FONT.ttc
       python tools/make_plate_fixture.py --hyperlpr HYPERLPR_CHECKOUT
Each part rewrites only its own rows of labels.yaml.
"""

from __future__ import annotations

import io
import random
import sys
from collections.abc import Callable
from pathlib import Path

import cv2
import yaml
from PIL import Image, ImageDraw, ImageFilter, ImageFont

OUT = Path(__file__).resolve().parents[1] / "tests" / "data" / "plates"
# (image, vehicle box x1 y1 x2 y2, where the plate sits as fractions of the box: cx, cy, width)
CARS = [
    ("000241_jpg.rf.6a18d7473664a0e4d85cdde8320aee9a.jpg", (349, 180, 557, 349), (0.52, 0.60, 0.28)),
    ("000241_jpg.rf.6a18d7473664a0e4d85cdde8320aee9a.jpg", (95, 194, 321, 360), (0.38, 0.43, 0.30)),
    ("000317_jpg.rf.ce7836bd3bfa08fd9202fd3e2882e277.jpg", (493, 202, 639, 299), (0.49, 0.71, 0.36)),
    ("000333_jpg.rf.138b1097c798caa5f8173f36a910bf14.jpg", (178, 362, 358, 447), (0.46, 0.50, 0.30)),
    ("000362_jpg.rf.d531122fae2fee4a31daeabac870f0ad.jpg", (514, 316, 639, 454), (0.43, 0.72, 0.30)),
    ("000362_jpg.rf.d531122fae2fee4a31daeabac870f0ad.jpg", (361, 308, 540, 450), (0.35, 0.62, 0.24)),
    ("000397_jpg.rf.13579ce27aea3b751354ce7e8b2ea3a7.jpg", (10, 0, 174, 145), (0.58, 0.85, 0.26)),
    ("000397_jpg.rf.13579ce27aea3b751354ce7e8b2ea3a7.jpg", (273, 8, 413, 126), (0.85, 0.80, 0.22)),
]
# HyperLPR photos: (path in that repository, vehicle box x1 y1 x2 y2 or None for the whole picture,
# the plate read by eye or None when it cannot be read with certainty).
HYPERLPR = [
    # 1920x1080 street parking scene; the white car's green new-energy plate 苏E·D51712
    ("resource/images/test_img.jpg", (594, 336, 1890, 984), "苏ED51712"),
    # 1140x456 close-up of a bumper, blue plate 藏D·T5022: the picture is the vehicle box
    ("resource/images/2.jpg", None, "藏DT5022"),
    # 320x320 traffic-camera frames: a truck's yellow two-row plate and a car's blue plate, both a
    # few pixels high; the province and some characters cannot be made out
    ("resource/images/1.jpg", (80, 70, 252, 250), None),
    ("resource/images/pre.jpg", (100, 100, 232, 230), None),
]
NOTICE = (
    "# Plate-reading fixture (tools/make_plate_fixture.py). Cars: garbage-cn, Roboflow Universe project\n"
    "# '公开数据集111' v2 via GitHub ATANU0023/garbage_detection_dataset, CC BY 4.0. real-*: crops as they are,\n"
    "# plates hand-checked: none legible whole (text null = the right answer is unread). rendered-*: the same\n"
    "# cars with a synthetic plate drawn in Noto Sans CJK (SIL OFL 1.1); text = the drawn number.\n"
    "# hyperlpr-*: real photos from HyperLPR, https://github.com/szad670401/HyperLPR commit 9307450,\n"
    "# Apache-2.0, (c) the HyperLPR authors; cropped to the vehicle box (box: in the source picture);\n"
    "# texts read by hand on enlarged crops, null where a person cannot read the plate with certainty.\n"
    "# real: true = a real plate (the garbage-cn crops and HyperLPR); the reader gets the whole file as box.\n"
)
PROVINCES = "京沪粤苏浙川鄂湘鲁豫"
LETTERS = "ABCDEFGHJKLMNPQRSTUVWXYZ"


def plate_text(rng: random.Random, new_energy: bool) -> str:
    head = rng.choice(PROVINCES) + rng.choice(LETTERS[:12])
    if new_energy:
        return head + rng.choice("DF") + rng.choice(LETTERS + "0123456789") + "".join(rng.choices("0123456789", k=4))
    tail = rng.choices(LETTERS + "0123456789" * 2, k=5)
    return head + "".join(tail)


def render_plate(text: str, font_path: str, new_energy: bool) -> Image.Image:
    """A plate at 440x140 (new energy 480x140) pixels: coloured ground, border, dot after the office letter."""
    width = 480 if new_energy else 440
    ground, ink = ((70, 190, 110), (10, 10, 10)) if new_energy else ((20, 60, 190), (250, 250, 250))
    plate = Image.new("RGB", (width, 140), ground)
    ImageDraw.Draw(plate).rectangle((4, 4, width - 5, 135), outline=ink, width=3)
    font = ImageFont.truetype(font_path, 100, index=2)  # the SC face of the collection
    shown = text[:2] + "·" + text[2:]
    box = ImageDraw.Draw(plate).textbbox((0, 0), shown, font=font)
    glyphs = Image.new("RGB", (box[2] - box[0] + 4, box[3] - box[1] + 4), ground)
    ImageDraw.Draw(glyphs).text((2 - box[0], 2 - box[1]), shown, font=font, fill=ink)
    # Plate lettering is condensed: squeeze the line into the plate, as the real glyphs are.
    glyphs = glyphs.resize((width - 28, 104), Image.Resampling.LANCZOS)
    plate.paste(glyphs, (14, 18))
    return plate


def main(images_dir: Path, font_path: str) -> None:
    rng = random.Random(17)
    OUT.mkdir(parents=True, exist_ok=True)
    labels: list[dict[str, object]] = []
    for n, (name, (x1, y1, x2, y2), (cx, cy, frac)) in enumerate(CARS):
        frame = cv2.imread(str(images_dir / name))
        crop = frame[y1:y2, x1:x2]
        real = f"real-{n:02d}.jpg"
        cv2.imwrite(str(OUT / real), crop, [cv2.IMWRITE_JPEG_QUALITY, 92])
        labels.append(
            {"file": real, "text": None, "legible": False, "real": True, "source": name, "box": [x1, y1, x2, y2]}
        )
        for scale in (1.0, 1.6):
            new_energy = rng.random() < 0.35
            text = plate_text(rng, new_energy)
            car = Image.fromarray(cv2.cvtColor(crop, cv2.COLOR_BGR2RGB))
            if scale != 1.0:  # a closer camera: the same car, more pixels
                car = car.resize((int(car.width * scale), int(car.height * scale)), Image.Resampling.BICUBIC)
            plate = render_plate(text, font_path, new_energy)
            pw = max(40, int(car.width * frac))
            ph = int(pw * plate.height / plate.width)
            plate = plate.resize((pw, ph), Image.Resampling.LANCZOS).filter(ImageFilter.GaussianBlur(0.6))
            car.paste(plate, (int(car.width * cx - pw / 2), int(car.height * cy - ph / 2)))
            buffer = io.BytesIO()
            car.save(buffer, format="JPEG", quality=85)
            rendered = f"rendered-{n:02d}-{'near' if scale > 1 else 'far'}.jpg"
            (OUT / rendered).write_bytes(buffer.getvalue())
            labels.append(
                {"file": rendered, "text": text, "legible": True, "real": False, "source": name, "plate_width_px": pw}
            )
    write_labels(labels, keep=lambda row: row["file"].startswith("hyperlpr-"))


def add_hyperlpr(checkout: Path) -> None:
    """The HyperLPR photos, from a checkout of that repository at commit 9307450."""
    labels: list[dict[str, object]] = []
    for n, (path, box, text) in enumerate(HYPERLPR):
        frame = cv2.imread(str(checkout / path))
        x1, y1, x2, y2 = box or (0, 0, frame.shape[1], frame.shape[0])
        name = f"hyperlpr-{n:02d}.jpg"
        cv2.imwrite(str(OUT / name), frame[y1:y2, x1:x2], [cv2.IMWRITE_JPEG_QUALITY, 90])
        row = {"file": name, "text": text, "legible": text is not None, "real": True, "source": path}
        labels.append(row | {"box": [x1, y1, x2, y2]})
    write_labels(labels, keep=lambda row: not row["file"].startswith("hyperlpr-"))


def write_labels(rows: list[dict[str, object]], keep: Callable[[dict[str, object]], bool]) -> None:
    """Write `rows` and keep the rows of the other part (`keep`) as they are in labels.yaml."""
    path = OUT / "labels.yaml"
    kept = [row for row in yaml.safe_load(path.read_text("utf-8")) or [] if keep(row)] if path.exists() else []
    ordered = sorted(kept + rows, key=lambda row: str(row["file"]).startswith("hyperlpr-"))
    path.write_text(NOTICE + yaml.safe_dump(ordered, allow_unicode=True, sort_keys=False), "utf-8")


if __name__ == "__main__":
    if sys.argv[1] == "--hyperlpr":
        add_hyperlpr(Path(sys.argv[2]))
    else:
        main(Path(sys.argv[1]), sys.argv[2])
