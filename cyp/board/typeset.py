"""Typeset one board pack with Typst in a process of its own: JSON on standard input, PDF on standard output.

Run by :func:`cyp.board.pdf.typeset` as ``python cyp/board/typeset.py`` (by path, importing nothing of ``cyp``), so
the compiler's memory (about 70 MB for a 2019-23 pack) goes back to the system when the pack is written instead of
staying with the Streamlit server, and a pack that takes too long can be stopped. A Typst error is written to
standard error as one line and the exit status is 2.
"""

from __future__ import annotations

import json
import sys


def main() -> int:
    """Read ``{"template", "fonts", "pack", "timestamp"}`` from stdin and write the PDF/UA-1 bytes to stdout."""
    import typst

    job = json.load(sys.stdin)
    compiler = typst.Compiler(job["template"], root=job["root"], font_paths=job["fonts"], ignore_system_fonts=True)
    try:
        pdf = compiler.compile(
            format="pdf", sys_inputs={"pack": job["pack"]}, pdf_standards=["ua-1"], timestamp=job["timestamp"]
        )
    except typst.TypstError as error:
        sys.stderr.write(" ".join(str(error.message).split()) + "\n")
        return 2
    # A PDF compiled without an output path comes back as one bytes object (a list is for PNG/SVG pages).
    if not isinstance(pdf, bytes):
        sys.stderr.write(f"Typst returned {type(pdf).__name__} instead of the PDF's bytes\n")
        return 2
    sys.stdout.buffer.write(pdf)
    return 0


if __name__ == "__main__":
    sys.exit(main())
