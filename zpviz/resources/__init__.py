"""Runtime assets that ship in the wheel: the application icon and the .desktop file."""
