"""Colours: the light and dark palettes, and the canvas colours derived from the current palette.

The app follows the system colour scheme (Qt's style hints) unless the user chose light or dark in
Settings. Canvas colours are read from the application palette, so a palette change (system switch,
or the user's choice) repaints the canvas in the new scheme.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass
from typing import TYPE_CHECKING

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QGuiApplication, QPalette
from PySide6.QtWidgets import QApplication

if TYPE_CHECKING:
    from app.core.values import DataType

#: One colour per port data type, chosen to read on both light and dark canvases. Keyed by the
#: `DataType` values (a StrEnum member looks up its value's entry): this module is imported before
#: the first paint, which can do without importing `app.core.values`.
PORT_COLOURS: dict[str, str] = {
    "text": "#3fa45b",
    "number": "#3b82d6",
    "boolean": "#e0673d",
    "json": "#9b5bd6",
    "list": "#d49a18",
    "any": "#8c8f96",
}

#: Category accent colours; unknown categories get a stable colour from their name.
CATEGORY_COLOURS: dict[str, str] = {
    "Input / Output": "#1f9e9a",
    "Prompt": "#8e5bd6",
    "Model": "#3b6fd6",
    "Tool": "#d9822b",
    "Data": "#3f9d4f",
    "Text": "#c2487f",
    "Control": "#b59a16",
    "Logic": "#b59a16",
}


def category_colour(category: str) -> QColor:
    known = CATEGORY_COLOURS.get(category)
    if known:
        return QColor(known)
    hue = zlib.crc32(category.encode("utf-8")) % 360
    return QColor.fromHsv(hue, 150, 200)


def port_colour(data_type: DataType) -> QColor:
    return QColor(PORT_COLOURS.get(data_type, PORT_COLOURS["any"]))


def mix(a: QColor, b: QColor, amount: float) -> QColor:
    """`amount` of b over a."""
    return QColor(
        round(a.red() + (b.red() - a.red()) * amount),
        round(a.green() + (b.green() - a.green()) * amount),
        round(a.blue() + (b.blue() - a.blue()) * amount),
    )


def is_dark(palette: QPalette | None = None) -> bool:
    palette = palette or QGuiApplication.palette()
    return palette.color(QPalette.ColorRole.Window).lightness() < 128


@dataclass
class CanvasColours:
    dark: bool
    background: QColor
    grid_minor: QColor
    grid_major: QColor
    node_body: QColor
    node_border: QColor
    node_text: QColor
    node_muted: QColor
    selection: QColor
    error: QColor
    warning: QColor
    comment_fill: QColor
    comment_border: QColor
    comment_text: QColor
    rubber_band: QColor

    @classmethod
    def from_palette(cls, palette: QPalette | None = None) -> CanvasColours:
        palette = palette or QGuiApplication.palette()
        dark = is_dark(palette)
        window = palette.color(QPalette.ColorRole.Window)
        base = palette.color(QPalette.ColorRole.Base)
        text = palette.color(QPalette.ColorRole.WindowText)
        highlight = palette.color(QPalette.ColorRole.Highlight)
        if dark:
            background = QColor("#1e1f22")
            body = QColor("#2b2d31")
            border = QColor("#45484f")
            comment_fill, comment_border, comment_text = (
                QColor("#4a4324"),
                QColor("#7a6c2c"),
                QColor("#f1e6c0"),
            )
        else:
            background = QColor("#f4f5f7")
            body = QColor("#ffffff")
            border = QColor("#c4c7cd")
            comment_fill, comment_border, comment_text = (
                QColor("#fff4c2"),
                QColor("#e0c65c"),
                QColor("#4a3f12"),
            )
        del window, base
        return cls(
            dark=dark,
            background=background,
            grid_minor=mix(background, text, 0.06),
            grid_major=mix(background, text, 0.12),
            node_body=body,
            node_border=border,
            node_text=QColor("#eceff4") if dark else QColor("#1c1e21"),
            node_muted=QColor("#a3a8b3") if dark else QColor("#5f6570"),
            selection=highlight if highlight.isValid() else QColor("#3d8ee6"),
            error=QColor("#ff5f56") if dark else QColor("#d93025"),
            warning=QColor("#f2b33d") if dark else QColor("#b06d00"),
            comment_fill=comment_fill,
            comment_border=comment_border,
            comment_text=comment_text,
            rubber_band=highlight,
        )


def light_palette() -> QPalette:
    p = QPalette()
    roles = QPalette.ColorRole
    colours = {
        roles.Window: "#eff0f2",
        roles.WindowText: "#1c1e21",
        roles.Base: "#ffffff",
        roles.AlternateBase: "#f5f6f8",
        roles.ToolTipBase: "#ffffe6",
        roles.ToolTipText: "#1c1e21",
        roles.PlaceholderText: "#80858f",
        roles.Text: "#1c1e21",
        roles.Button: "#f6f7f9",
        roles.ButtonText: "#1c1e21",
        roles.BrightText: "#ffffff",
        roles.Highlight: "#2f7bd9",
        roles.HighlightedText: "#ffffff",
        roles.Link: "#1f66c1",
        roles.LinkVisited: "#7b4fc4",
        roles.Light: "#ffffff",
        roles.Midlight: "#e3e5e8",
        roles.Mid: "#c4c7cd",
        roles.Dark: "#9a9ea6",
        roles.Shadow: "#6b6f76",
    }
    for role, colour in colours.items():
        p.setColor(role, QColor(colour))
    for role in (roles.WindowText, roles.Text, roles.ButtonText):
        p.setColor(QPalette.ColorGroup.Disabled, role, QColor("#9a9ea6"))
    return p


def dark_palette() -> QPalette:
    p = QPalette()
    roles = QPalette.ColorRole
    colours = {
        roles.Window: "#26282c",
        roles.WindowText: "#e6e8ec",
        roles.Base: "#1c1d20",
        roles.AlternateBase: "#2a2c30",
        roles.ToolTipBase: "#33363b",
        roles.ToolTipText: "#e6e8ec",
        roles.PlaceholderText: "#8a8f99",
        roles.Text: "#e6e8ec",
        roles.Button: "#31343a",
        roles.ButtonText: "#e6e8ec",
        roles.BrightText: "#ffffff",
        roles.Highlight: "#3d8ee6",
        roles.HighlightedText: "#ffffff",
        roles.Link: "#6fb0ff",
        roles.LinkVisited: "#b493f0",
        roles.Light: "#4a4d54",
        roles.Midlight: "#3c3f45",
        roles.Mid: "#2f3237",
        roles.Dark: "#16171a",
        roles.Shadow: "#000000",
    }
    for role, colour in colours.items():
        p.setColor(role, QColor(colour))
    for role in (roles.WindowText, roles.Text, roles.ButtonText):
        p.setColor(QPalette.ColorGroup.Disabled, role, QColor("#6c7079"))
    return p


def apply_theme(app: QApplication, mode: str = "system") -> None:
    """Fusion style with the light or dark palette; "system" follows the platform's scheme."""
    if app.style().name().lower() != "fusion":
        app.setStyle("Fusion")
    if mode == "system":
        scheme = app.styleHints().colorScheme()
        mode = "dark" if scheme == Qt.ColorScheme.Dark else "light"
    app.setPalette(dark_palette() if mode == "dark" else light_palette())


def follow_system_scheme(app: QApplication, mode_getter: object) -> None:
    """Re-apply the palette whenever the platform switches between light and dark."""

    def changed(_scheme: object) -> None:
        mode = mode_getter() if callable(mode_getter) else "system"
        if mode == "system":
            apply_theme(app, "system")

    app.styleHints().colorSchemeChanged.connect(changed)
