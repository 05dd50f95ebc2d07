"""The one error every app layer raises for input it cannot use."""


class UserInputError(ValueError):
    """Input the app cannot use; the message is shown to the user as is."""
