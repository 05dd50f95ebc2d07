"""Hugging Face Spaces entry point: the web app over the models shipped in assets/models/."""

from sentiment_app.app.ui import launch_options
from sentiment_app.cli.serve import create_demo

demo = create_demo()

if __name__ == "__main__":
    demo.launch(**launch_options())
