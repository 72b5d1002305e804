#!/bin/sh
# Put the AMI secret and the SIP passwords (docker secrets, never in the image) in place, then start.
set -eu
secret_file=${AMI_SECRET_FILE:-/run/secrets/ami_secret}
[ -r "$secret_file" ] || { echo "ivr-asterisk: AMI secret not readable at $secret_file" >&2; exit 1; }
secret=$(tr -d '\r\n' < "$secret_file")
sed -i "s|__AMI_SECRET__|$secret|" /etc/asterisk/manager.conf
chmod 600 /etc/asterisk/manager.conf
# SIP passwords (pjsip.conf #tryincludes them): a docker secret made by `ivr asterisk-config`.
sip_file=${SIP_SECRETS_FILE:-/run/secrets/pjsip_auth}
if [ -r "$sip_file" ]; then
  install -m 600 "$sip_file" /etc/asterisk/pjsip_auth.conf
else
  echo "ivr-asterisk: no SIP passwords at $sip_file: phones cannot register" >&2
fi
exec "$@"
