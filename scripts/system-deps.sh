#!/usr/bin/env bash
# Debian packages the host needs: mmdebstrap builds the Asterisk chroot; espeak-ng and sox
# render text-to-speech prompts; graphviz (dot) draws call-flow diagrams; chromium drives the
# dashboard and agent view in the browser tests, tesseract reads their screenshots back. The SIP
# test parties (ivr/sandbox/calls/sip/): sip-tester (sipp, its RFC 4733 DTMF pcaps), baresip-core (its
# aufile, sndfile, alsa, cons and ctrl_tcp modules) and tcpdump to capture RTP on loopback.
# dnsmasq-base (the binary, no system service): the sandbox's own DNS server for hagi:// SRV
# records (ivr/sandbox/dns.py), on 127.0.0.2 only. iproute2 (ip): the second Asterisk's
# network namespace for the HA tests (ivr/sandbox/netns.py).
set -euo pipefail
missing=()
command -v mmdebstrap >/dev/null || missing+=(mmdebstrap)
command -v chroot >/dev/null || missing+=(coreutils)
command -v espeak-ng >/dev/null || missing+=(espeak-ng)
command -v sox >/dev/null || missing+=(sox)
command -v dot >/dev/null || missing+=(graphviz)
command -v chromium >/dev/null || missing+=(chromium)
command -v tesseract >/dev/null || missing+=(tesseract-ocr)
command -v sipp >/dev/null || missing+=(sip-tester)  # SIP carrier/callers in ivr/sandbox/calls/sip
command -v tcpdump >/dev/null || missing+=(tcpdump)  # RTP capture of what a party hears
[[ -x /usr/sbin/dnsmasq ]] || command -v dnsmasq >/dev/null || missing+=(dnsmasq-base)
command -v ip >/dev/null || missing+=(iproute2)
[[ -e /usr/share/fonts/truetype/dejavu/DejaVuSans.ttf ]] || missing+=(fonts-dejavu-core)
[[ -e /usr/lib/baresip/modules/aufile.so ]] || missing+=(baresip-core)  # agents' phones
if ((${#missing[@]})); then
  if [[ $(id -u) -ne 0 ]]; then
    echo "system-deps: need root to install: ${missing[*]}" >&2
    exit 1
  fi
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}"
fi
