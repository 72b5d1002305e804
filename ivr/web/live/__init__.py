"""The live board (ivr.web.live.board) and its parts."""
