"""One module per tab: each builds its part of the page and wires its own handlers.

Every tab exposes ``refresh_inputs``, ``outputs`` and ``refresh(values)`` (a ``{component:
value}`` dict), so the page can re-render the open tab after an Undo or a prediction update.
"""
