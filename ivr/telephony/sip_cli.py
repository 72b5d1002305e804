"""`ivr telephony validate|render [FILE]`: check telephony.yaml, or print what it renders to."""

import argparse
from pathlib import Path

from ivr.telephony.pjsip_render import render_pjsip_conf, render_rtp_conf, render_trunk_dialplan
from ivr.telephony.sip_config import validate_telephony
from ivr.yamlfiles.problems import print_problems

SubParsers = argparse._SubParsersAction  # argparse has no public name for it


def add_telephony_parser(sub: "SubParsers[argparse.ArgumentParser]", default: Path) -> None:
    telephony = sub.add_parser("telephony", help="check or render telephony.yaml (SIP)")
    commands = telephony.add_subparsers(dest="telephony_command", required=True)
    for name, text in (
        ("validate", "check telephony.yaml (exit 1 on errors)"),
        ("render", "print the pjsip.conf, rtp.conf and trunk dialplan it renders to"),
    ):
        command = commands.add_parser(name, help=text)
        command.add_argument("file", nargs="?", default=str(default), help=f"default: {default}")


def run_telephony(args: argparse.Namespace) -> int:
    config, problems = validate_telephony(args.file)
    errors, warnings = print_problems(problems)
    if config is None:
        print(f"telephony: {errors} error(s), {warnings} warning(s) in {args.file}")
        return 1
    if args.telephony_command == "render":
        print(render_pjsip_conf(config))
        print(render_rtp_conf(config))
        print(render_trunk_dialplan(config))
        return 0
    print(
        f"telephony: ok ({len(config.transports)} transports, {len(config.trunks)} trunks, "
        f"{len(config.phones)} phones, {warnings} warning(s)) in {args.file}"
    )
    return 0
