"""Menus and keys. Every key is an application-wide QAction, so no focused widget swallows it
(Qt still disables them behind a modal dialog, so a file dialog keeps its arrow keys)."""

from __future__ import annotations

from PySide6 import QtCore, QtGui

from zpviz.engine import VARIANTS
from zpviz.present.captions import kernel_title
from zpviz.present.palette import THEMES

APP = QtCore.Qt.ShortcutContext.ApplicationShortcut

# (name, text, keys, method on the window, argument)
TRANSPORT = (
    ("play", "Play / pause", ("Space",), "command", "toggle"),
    ("next", "Next event", ("Right",), "command", "next"),
    ("prev", "Previous event", ("Left",), "command", "prev"),
    ("next_step", "Next lesson step", ("Shift+Right", "PgDown"), "command", "next_step"),
    ("prev_step", "Previous lesson step", ("Shift+Left", "PgUp"), "command", "prev_step"),
    ("next_checkpoint", "Next checkpoint", ("Ctrl+Right",), "command", "next_checkpoint"),
    ("prev_checkpoint", "Previous checkpoint", ("Ctrl+Left",), "command", "prev_checkpoint"),
    ("first", "First", ("Home",), "command", "first"),
    ("last", "Last", ("End",), "command", "last"),
    ("faster", "Faster", ("+", "=", "Shift++"), "command", "faster"),
    ("slower", "Slower", ("-",), "command", "slower"),
)
VIEW = (
    ("fullscreen", "Full screen", ("F11",), "toggle_fullscreen", None),
    ("zoom_in", "Zoom in", ("Ctrl+=", "Ctrl++", "Ctrl+Shift+="), "zoom", 0.8),
    ("zoom_out", "Zoom out", ("Ctrl+-",), "zoom", 1.25),
    ("zoom_reset", "Fit the address space", ("Ctrl+0", "0"), "reset_zoom", None),
    ("presenter", "Presenter view", ("Ctrl+P",), "toggle_presenter", None),
    ("next_theme", "Next theme", ("Ctrl+T",), "cycle_theme", None),
    ("escape", "Clear selection / leave full screen", ("Esc",), "escape", None),
)
MACHINE = (
    ("machine_run", "Run on this machine", ("Ctrl+K",), "run_on_machine", None),
    ("machine_cancel", "Stop the run on this machine", (), "cancel_machine_run", None),
    ("machine_hide", "Hide this machine", ("Ctrl+Shift+K",), "hide_machine", None),
)
FILE = (
    ("open", "Open lesson...", ("Ctrl+O",), "open_dialog", None),
    ("browse", "Built-in lessons...", ("Ctrl+B",), "browse_lessons", None),
    ("reload", "Reload", ("Ctrl+R",), "reload", None),
    ("record", "Record a program...", ("Ctrl+Shift+R",), "record_dialog", None),
    ("export", "Export...", ("Ctrl+E",), "export_dialog", None),
    ("quit", "Quit", ("Ctrl+Q",), "close", None),
)


def _action(win, name, text, keys, method, arg) -> QtGui.QAction:
    a = QtGui.QAction(text, win)
    a.setObjectName(f"action_{name}")
    a.setShortcuts([QtGui.QKeySequence(k) for k in keys])
    a.setShortcutContext(APP)
    fn = getattr(win, method)
    a.triggered.connect((lambda _=False, f=fn, x=arg: f(x)) if arg is not None else (lambda _=False, f=fn: f()))
    win.addAction(a)  # on the window itself too: shortcuts work with the menu bar hidden (full screen)
    win.actions_by_name[name] = a
    return a


def build_menus(win) -> None:
    win.actions_by_name = {}
    mb = win.menuBar()
    m_file = mb.addMenu("&File")
    for spec in FILE[:3]:
        m_file.addAction(_action(win, *spec))
    win.recent_menu = m_file.addMenu("Open &recent")
    m_file.addSeparator()
    m_file.addAction(_action(win, *FILE[3]))
    m_file.addSeparator()
    m_file.addAction(_action(win, *FILE[4]))
    m_file.addSeparator()
    m_file.addAction(_action(win, *FILE[5]))

    m_play = mb.addMenu("&Playback")
    for spec in TRANSPORT:
        m_play.addAction(_action(win, *spec))
    m_play.addSeparator()
    pred = _action(win, "predict", "Predict mode", ("Ctrl+Shift+P",), "set_predict_mode_from_action", None)
    pred.setCheckable(True)
    m_play.addAction(pred)
    for i in range(7):  # answers to a predict question; harmless when none is open
        _action(win, f"answer{i + 1}", f"Answer {i + 1}", (str(i + 1),), "answer_predict", i)
    m_play.addAction(_action(win, "reveal", "Reveal the answer", ("R",), "reveal_predict", None))
    m_play.addAction(_action(win, "score", "Show the predict score", ("S",), "show_score", None))

    m_lesson = mb.addMenu("&Kernel")
    group = QtGui.QActionGroup(win)
    win.kernel_actions = {}
    for kid, pol in VARIANTS.items():
        a = QtGui.QAction(kernel_title(pol), win, checkable=True)
        a.triggered.connect(lambda _=False, k=kid: win.set_kernel(k))
        group.addAction(a)
        m_lesson.addAction(a)
        win.kernel_actions[kid] = a
    m_lesson.addSeparator()
    m_cmp = m_lesson.addMenu("&Compare with")
    win.compare_actions = {}
    for kid, pol in VARIANTS.items():
        a = QtGui.QAction(kernel_title(pol), win, checkable=True)
        a.triggered.connect(lambda _=False: win.compare_from_menu())
        m_cmp.addAction(a)
        win.compare_actions[kid] = a
    m_cmp.addSeparator()
    off = m_cmp.addAction("Compare off")
    off.triggered.connect(lambda _=False: win.set_compare(()))
    m_lesson.addSeparator()  # the same lesson on the running kernel, beside the model
    for spec in MACHINE:
        m_lesson.addAction(_action(win, *spec))

    m_view = mb.addMenu("&View")
    for spec in VIEW[:5]:
        m_view.addAction(_action(win, *spec))
    m_theme = m_view.addMenu("&Theme")
    tg = QtGui.QActionGroup(win)
    win.theme_actions = {}
    for name, th in THEMES.items():
        a = QtGui.QAction(th.label, win, checkable=True)
        a.triggered.connect(lambda _=False, n=name: win.set_theme(n))
        tg.addAction(a)
        m_theme.addAction(a)
        win.theme_actions[name] = a
    m_theme.addAction(_action(win, *VIEW[5]))
    _action(win, *VIEW[6])
    m_view.addSeparator()
    for dock in win.docks.values():
        m_view.addAction(dock.toggleViewAction())

    m_help = mb.addMenu("&Help")
    keys = m_help.addAction("Keys")
    keys.triggered.connect(win.show_keys)


def keys_text() -> str:
    rows = [f"{', '.join(k)}: {t}" for _, t, k, _, _ in TRANSPORT + VIEW + MACHINE + FILE if k]
    return "\n".join(rows + ["1-7: answer a predict question (or type a number)", "R: reveal the answer",
                             "S: the predict score (right / asked)", "Ctrl+Shift+P: predict mode"])
