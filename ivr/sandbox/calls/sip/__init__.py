"""Real SIP parties for the sandbox: SIPp as the carrier and its callers, baresip as agents'
and supervisors' phones, with the audio and RTP they send and receive (the demo and the
tests). They need numpy (the `dev` extra) and the tools of scripts/system-deps.sh."""
