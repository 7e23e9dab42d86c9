"""The one refusal the whole app shares: a click the app will not carry out, told to the person.

Logic raises :class:`ActionError` with a message meant for whoever clicked; the page
(``page.friendly``) shows it as a warning and leaves everything on screen as it was.
"""


class ActionError(ValueError):
    """A request the app refuses, with a message for the person who clicked."""
