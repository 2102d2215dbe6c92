"""Qt widgets only: the bridge from core events to Qt signals, windows, dialogs, models."""
