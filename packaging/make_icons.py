"""Render the app icon in every size each OS needs, from resources/icons/chainwright.svg.

    python packaging/make_icons.py OUT_DIR

writes into OUT_DIR:
    hicolor/NxN/apps/chainwright.png   Linux icon theme sizes (16 … 512) and the .desktop icon
    chainwright.png                    256 px, for the window icon
    chainwright.ico                    Windows: 16, 24, 32, 48, 64, 128, 256 (PNG-compressed entries)
    chainwright.icns                   macOS: 16 … 1024 incl. @2x (PNG entries)

Only PySide6 (QtSvg) is needed; .ico and .icns are written here (Qt's ICNS writer is not in
PySide6-Essentials), so the same script produces all three on any OS.
"""

from __future__ import annotations

import os
import struct
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SVG = ROOT / "resources" / "icons" / "chainwright.svg"

LINUX_SIZES = (16, 22, 24, 32, 48, 64, 128, 256, 512)
ICO_SIZES = (16, 24, 32, 48, 64, 128, 256)
#: ICNS element types holding PNG data, by pixel size (the @2x types share sizes with others).
ICNS_TYPES = (
    ("icp4", 16),
    ("icp5", 32),
    ("ic11", 32),  # 16@2x
    ("icp6", 64),
    ("ic12", 64),  # 32@2x
    ("ic07", 128),
    ("ic08", 256),
    ("ic13", 256),  # 128@2x
    ("ic09", 512),
    ("ic14", 512),  # 256@2x
    ("ic10", 1024),  # 512@2x
)


def render_png(size: int, svg: Path = SVG) -> bytes:
    from PySide6.QtCore import QBuffer, QByteArray, QIODevice, Qt
    from PySide6.QtGui import QImage, QPainter
    from PySide6.QtSvg import QSvgRenderer

    renderer = QSvgRenderer(str(svg))
    if not renderer.isValid():
        raise SystemExit(f"{svg}: not a valid SVG")
    image = QImage(size, size, QImage.Format.Format_ARGB32_Premultiplied)
    image.fill(Qt.GlobalColor.transparent)
    painter = QPainter(image)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
    renderer.render(painter)
    painter.end()
    data = QByteArray()
    buffer = QBuffer(data)
    buffer.open(QIODevice.OpenModeFlag.WriteOnly)
    image.save(buffer, "PNG")
    buffer.close()
    return bytes(data.data())


def ico_bytes(pngs: dict[int, bytes]) -> bytes:
    """A Windows .ico whose entries are PNG images (supported since Windows Vista)."""
    sizes = sorted(pngs)
    header = struct.pack("<HHH", 0, 1, len(sizes))
    offset = 6 + 16 * len(sizes)
    entries, blobs = b"", b""
    for size in sizes:
        blob = pngs[size]
        dim = 0 if size >= 256 else size  # 0 means 256
        entries += struct.pack("<BBBBHHII", dim, dim, 0, 0, 1, 32, len(blob), offset + len(blobs))
        blobs += blob
    return header + entries + blobs


def icns_bytes(pngs: dict[int, bytes]) -> bytes:
    body = b""
    for kind, size in ICNS_TYPES:
        blob = pngs[size]
        body += kind.encode("ascii") + struct.pack(">I", 8 + len(blob)) + blob
    return b"icns" + struct.pack(">I", 8 + len(body)) + body


def make_icons(out: Path, svg: Path = SVG) -> list[Path]:
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtGui import QGuiApplication

    _app = QGuiApplication.instance() or QGuiApplication(sys.argv[:1])
    sizes = sorted(set(LINUX_SIZES) | set(ICO_SIZES) | {size for _, size in ICNS_TYPES})
    pngs = {size: render_png(size, svg) for size in sizes}
    written = []
    for size in LINUX_SIZES:
        path = out / "hicolor" / f"{size}x{size}" / "apps" / "chainwright.png"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(pngs[size])
        written.append(path)
    scalable = out / "hicolor" / "scalable" / "apps" / "chainwright.svg"
    scalable.parent.mkdir(parents=True, exist_ok=True)
    scalable.write_bytes(svg.read_bytes())
    written.append(scalable)
    for name, data in (
        ("chainwright.png", pngs[256]),
        ("chainwright.ico", ico_bytes({size: pngs[size] for size in ICO_SIZES})),
        ("chainwright.icns", icns_bytes(pngs)),
    ):
        path = out / name
        path.write_bytes(data)
        written.append(path)
    return written


if __name__ == "__main__":
    if len(sys.argv) != 2:
        raise SystemExit("usage: python packaging/make_icons.py OUT_DIR")
    for path in make_icons(Path(sys.argv[1])):
        print(path)
