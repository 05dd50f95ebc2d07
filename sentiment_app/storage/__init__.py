"""Files on disk: model directories, atomic writes, and the text files users hand in."""
