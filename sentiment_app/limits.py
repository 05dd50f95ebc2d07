"""Every bound the app puts on what a request may grow, in one place; messages quote these.

docs/reliability.md lists them with the attack each one answers.
"""

from __future__ import annotations

MIB = 1024 * 1024

# --- text --------------------------------------------------------------------------------------
MAX_TEXT_CHARS = 5_000  # typed or API text; longer text is cut, with a note
INSIDE_MAX_CHARS = 600  # the network views draw one column per token: keep them readable
MAX_UNITS_NAMED = 1_024  # units one request may fix; the largest shipped model has 256

# --- uploaded and read files ---------------------------------------------------------------------
MAX_UPLOAD_BYTES = 25 * MIB  # one file; Gradio's "25mb" is 25 MiB too
MAX_REQUEST_BYTES = MAX_UPLOAD_BYTES + 64 * 1024  # any request body: an upload's file and its form fields
MAX_FILES_PER_REQUEST = 1  # the Batch tab sends one file
MAX_UPLOADS_AT_ONCE = 2  # multipart bodies held in memory at once, from arrival until Gradio is done
UPLOAD_READ_TIMEOUT_S = 60  # a client slower than this is cut off, so that it cannot hold a slot
UPLOAD_SUFFIXES = (".csv", ".tsv", ".txt", ".jsonl", ".json")
MAX_UPLOAD_ROWS = 100_000
MAX_CELLS = 2_000_000  # rows times columns of a table: 100,000 rows of 20 columns
MAX_COLUMNS = 100  # of a table, header included
MAX_COLUMN_NAME_CHARS = 200
MAX_FIELD_CHARS = 1 * MIB  # one cell; texts are cut to MAX_TEXT_CHARS when scored
PREVIEW_ROWS = 20
PREVIEW_COLUMNS = 10  # of the file's own columns; the models' columns are always shown
PREVIEW_CELL_CHARS = 200
SHOWN_COLUMN_NAMES = 20  # in the upload message

# --- work at once and what it leaves behind ------------------------------------------------------
CONCURRENCY = 2  # model calls at once, over every endpoint: one per CPU core on free Spaces hardware
QUEUE_SIZE = 64  # requests waiting at most; more are refused with "queue full"
# Gradio keeps a copy of the page's config for every session it has seen (each API call is a
# new session), 10,000 of them by default: the app keeps no per-user state, so a small bound.
SESSION_CAPACITY = 128
BATCH_CHUNK = 2_000  # rows per model call while scoring a file
KEPT_RESULTS = 8  # scored files kept for download; older ones are deleted
RESULT_MAX_AGE_S = 3_600  # and none is kept longer than this
CACHE_SWEEP = (600, 3_600)  # Gradio's upload cache: every 10 minutes, delete files over an hour old


def size_text(size: int) -> str:
    """A byte count in the unit the limits are stated in (MiB), e.g. '25 MiB', '30.1 MiB'."""
    value = size / MIB
    return f"{value:.0f} MiB" if value == int(value) else f"{value:.1f} MiB"
