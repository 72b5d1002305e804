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
# Several engines (active/active menus): the dialplan's IVR_AGI is hagi://engines.ivr, and
# this container answers its SRV records itself: a dnsmasq on 127.0.0.2 names every engine
# in IVR_ENGINES ("host:port ..."), and forwards any other name to Docker's DNS.
if [ -n "${IVR_ENGINES:-}" ]; then
  srv=""
  for engine in $IVR_ENGINES; do
    srv="$srv --srv-host=_agi._tcp.engines.ivr,${engine%:*},${engine##*:},10,10"
  done
  upstream=$(awk '/^nameserver/ {print $2; exit}' /etc/resolv.conf)
  # shellcheck disable=SC2086 # one --srv-host per engine
  dnsmasq --listen-address=127.0.0.2 --bind-interfaces --no-hosts --no-resolv \
    --server="${upstream:-127.0.0.11}" --user=root $srv
  echo "nameserver 127.0.0.2" > /etc/resolv.conf
  # the image's dialplan says agi://127.0.0.1:4573 (one engine): several go behind hagi://
  sed -i 's|^IVR_AGI=.*|IVR_AGI=hagi://engines.ivr|' /etc/asterisk/extensions.conf
fi
# The AGI scripts of the fallback path read the engine's settings (its database) here.
if [ -n "${IVR_DATABASE_URL:-}" ]; then
  umask 077
  printf "database_url: '%s'\nflows_dir: /etc/ivr/flows\nqueues_file: /etc/ivr/queues.yaml\n" \
    "$IVR_DATABASE_URL" > /etc/ivr/ivr.yaml
  umask 022
else
  echo "ivr-asterisk: no IVR_DATABASE_URL: with the engine down, callers get the plain fallback" >&2
fi
exec "$@"
