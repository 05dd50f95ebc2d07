"""Hugging Face Spaces entry point: the web app over the models shipped in assets/models/."""

from sentiment_app.app_cli import create_demo
from sentiment_app.ui import launch_options

demo = create_demo()

if __name__ == "__main__":
    demo.launch(**launch_options())
