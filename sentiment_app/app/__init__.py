"""The web app: the service (limits, validation), its event handlers, figures and the Gradio page."""
