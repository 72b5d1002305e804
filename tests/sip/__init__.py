"""Test kit for real SIP parties: SIPp callers, baresip phones, RTP capture, audio judgement."""
