"""High availability: which engine owns an Asterisk's live actions (the others stand by)."""
