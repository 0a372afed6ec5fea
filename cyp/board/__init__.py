"""The board: what a board meeting reads (board data), the PDF pack and the Excel export."""
