"""ivr: an IVR and call-routing engine on Asterisk."""
