#!/bin/sh
# Put the AMI secret (a docker secret, never in the image) into manager.conf, then start.
set -eu
secret_file=${AMI_SECRET_FILE:-/run/secrets/ami_secret}
[ -r "$secret_file" ] || { echo "ivr-asterisk: AMI secret not readable at $secret_file" >&2; exit 1; }
secret=$(tr -d '\r\n' < "$secret_file")
sed -i "s|__AMI_SECRET__|$secret|" /etc/asterisk/manager.conf
chmod 600 /etc/asterisk/manager.conf
exec "$@"
