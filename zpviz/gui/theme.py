"""Apply a present.palette.Theme to Qt: the application palette, fonts and pyqtgraph defaults."""

from __future__ import annotations

import pyqtgraph as pg
from PySide6 import QtGui, QtWidgets

from zpviz.present.palette import Theme

BASE_PT = 12  # the projector needs bigger than desktop defaults everywhere
CAPTION_PT = 30
MONO = "DejaVu Sans Mono"


def qcolor(hex_colour: str, alpha: int = 255) -> QtGui.QColor:
    c = QtGui.QColor(hex_colour)
    c.setAlpha(alpha)
    return c


def palette_for(t: Theme) -> QtGui.QPalette:
    p = QtGui.QPalette()
    R = QtGui.QPalette.ColorRole
    bg, panel, fg, muted = qcolor(t.bg), qcolor(t.panel), qcolor(t.fg), qcolor(t.muted)
    for role, c in ((R.Window, bg), (R.WindowText, fg), (R.Base, panel), (R.AlternateBase, bg), (R.Text, fg),
                    (R.Button, bg), (R.ButtonText, fg), (R.ToolTipBase, panel), (R.ToolTipText, fg),
                    (R.Highlight, qcolor(t.accent)), (R.PlaceholderText, muted), (R.Mid, qcolor(t.grid)),
                    (R.Light, panel), (R.Midlight, qcolor(t.grid)), (R.Dark, qcolor(t.grid)),
                    (R.Link, qcolor(t.accent))):
        p.setColor(role, c)
    hl_text = "#000000" if t.name == "contrast" else "#FFFFFF"
    p.setColor(R.HighlightedText, qcolor(hl_text))
    for group in (QtGui.QPalette.ColorGroup.Disabled,):
        p.setColor(group, R.WindowText, muted)
        p.setColor(group, R.Text, muted)
        p.setColor(group, R.ButtonText, muted)
    return p


def stylesheet(t: Theme) -> str:
    """Colours for every widget kind the app uses, so a window themed on its own (an offscreen
    export window, which must not restyle the application) looks exactly like the app."""
    return f"""
    QWidget {{ color: {t.fg}; }}
    QMainWindow, QDialog {{ background: {t.bg}; }}
    QScrollArea, QScrollArea > QWidget > QWidget {{ background: transparent; }}
    QMenuBar {{ background: {t.bg}; color: {t.fg}; }}
    QMenuBar::item:selected, QMenu::item:selected {{ background: {t.accent}; color: {t.panel}; }}
    QMenu {{ background: {t.panel}; color: {t.fg}; border: 1px solid {t.grid}; }}
    QStatusBar {{ background: {t.bg}; color: {t.muted}; }}
    QTabBar::tab {{ background: {t.bg}; color: {t.fg}; padding: 4px 6px; border: 1px solid {t.grid};
                     font-size: {BASE_PT}pt; }}  /* set here: a tab bar made before the app font kept 9 pt */
    QTabBar::tab:selected {{ background: {t.panel}; font-weight: bold; }}
    QTextEdit, QPlainTextEdit, QListWidget, QTableWidget {{ background: {t.panel}; color: {t.fg}; }}
    QLineEdit, QSpinBox, QDoubleSpinBox, QComboBox {{ background: {t.panel}; color: {t.fg};
                                                     border: 1px solid {t.grid}; padding: 2px 4px; }}
    QPushButton {{ background: {t.panel}; color: {t.fg}; border: 1px solid {t.grid}; border-radius: 4px;
                   padding: 4px 12px; }}
    QPushButton:hover {{ border-color: {t.accent}; }}
    QProgressBar {{ background: {t.panel}; border: 1px solid {t.grid}; }}
    QProgressBar::chunk {{ background: {t.accent}; }}
    QDockWidget {{ font-size: {BASE_PT}pt; font-weight: bold; }}
    QDockWidget::title {{ background: {t.bg}; padding: 4px 8px; }}
    QFrame#panel {{ background: {t.panel}; border: 1px solid {t.grid}; border-radius: 4px; }}
    QFrame#banner {{ background: {t.banner}; border: 2px solid {t.alert}; border-radius: 4px; }}
    QFrame#predict {{ background: {t.panel}; border: 3px solid {t.accent}; border-radius: 6px; }}
    QToolButton {{ font-size: {BASE_PT + 4}pt; padding: 2px 6px; border: 1px solid {t.grid};
                   border-radius: 4px; background: {t.panel}; color: {t.fg}; min-width: 30px; }}
    QToolButton:hover {{ border-color: {t.accent}; }}
    QToolButton:checked {{ background: {t.accent}; color: {t.panel}; }}
    QPushButton#answer {{ font-size: {BASE_PT + 2}pt; padding: 0px 12px; border: 2px solid {t.accent};
                          border-radius: 6px; background: {t.panel}; color: {t.fg}; }}
    QPushButton#answer:checked {{ background: {t.accent}; color: {t.panel}; }}
    QTableWidget {{ gridline-color: {t.grid}; }}
    QHeaderView::section {{ background: {t.bg}; color: {t.fg}; border: 0; padding: 4px; font-weight: bold; }}
    QHeaderView, QTableCornerButton::section {{ background: {t.bg}; border: 0; }}
    QToolTip {{ font-family: "{MONO}"; font-size: {BASE_PT}pt; }}
    """


def apply_theme(app: QtWidgets.QApplication, t: Theme) -> None:
    app.setPalette(palette_for(t))
    app.setStyleSheet(stylesheet(t))
    f = app.font()
    f.setPointSize(BASE_PT)
    app.setFont(f)
    pg.setConfigOptions(background=t.panel, foreground=t.fg, antialias=True)


def apply_to_window(win: QtWidgets.QWidget, t: Theme) -> None:
    """The theme on one window and its children only (export windows use this alone)."""
    win.setPalette(palette_for(t))
    win.setStyleSheet(stylesheet(t))
    f = win.font()
    f.setPointSize(BASE_PT)
    win.setFont(f)


def font(pt: int, bold: bool = False, mono: bool = False) -> QtGui.QFont:
    f = QtGui.QFont(MONO) if mono else QtGui.QFont()
    f.setPointSize(pt)
    f.setBold(bold)
    return f
