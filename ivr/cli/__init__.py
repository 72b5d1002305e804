"""Command line: ivr serve | supervise | sandbox | call | flow | queues | agent | token | demo |
report | asterisk-config."""

import argparse
import asyncio
import logging
import signal
import sys
from pathlib import Path

from ivr.cli.flow_history import COMMANDS as FLOW_HISTORY_COMMANDS
from ivr.cli.flow_history import add_flow_history_parsers, run_flow_history
from ivr.config import ConfigError, Settings, load_settings
from ivr.reports.cli import SubParsers, add_report_parser, run_report
from ivr.telephony.sip_cli import add_telephony_parser, run_telephony
from ivr.telephony.sip_config import TELEPHONY_FILE


def _serve(settings: Settings) -> int:
    import faulthandler

    from ivr.app import Engine

    # SIGABRT from a watchdog (systemd's WatchdogSignal) logs where the event loop was stuck:
    # kill() delivers it to the main thread, the loop's. Only that thread is dumped: walking
    # the storage threads' frames while they run can crash the dump itself (SIGSEGV).
    faulthandler.enable(all_threads=False)

    async def main() -> None:
        engine = Engine(settings)
        await engine.start()
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        await stop.wait()
        await engine.stop()

    _run(main())
    return 0


def _supervise(args: argparse.Namespace) -> int:
    """`ivr supervise [options] [-- COMMAND...]`: run COMMAND (default: this `ivr serve`)
    under the watchdog; see ivr/watchdog/supervisor.py."""
    from ivr.watchdog.supervisor import SuperviseOptions, Supervisor

    command = args.engine_command[1:] if args.engine_command[:1] == ["--"] else args.engine_command
    if not command:
        command = [sys.executable, "-m", "ivr", *(["--config", args.config] if args.config else [])]
        command += ["-v", "serve"] if args.verbose else ["serve"]
    options = SuperviseOptions(
        watchdog=args.watchdog,
        start_timeout=args.start_timeout,
        stop_timeout=args.stop_timeout,
        restart_delay=args.restart_delay,
        max_restart_delay=args.max_restart_delay,
    )
    return asyncio.run(Supervisor(command, options).run())


def _run(coro: object) -> None:
    import uvloop

    uvloop.run(coro)  # type: ignore[arg-type]


def _sandbox(settings: Settings, args: argparse.Namespace) -> int:
    from ivr.sandbox.chroot import Sandbox, SandboxError
    from ivr.sandbox.netns import PeerNetwork
    from ivr.sandbox.peer import PeerSandbox, peer_dir

    action = args.action
    sandbox = Sandbox(
        settings.sandbox_dir,
        settings.queues_file,
        ami_port=settings.ami_port,
        agi_url=f"agi://{settings.agi_host}:{settings.agi_port}",
        engine_settings=settings,
    )
    if args.peer:  # the second Asterisk, in its own network namespace
        network = PeerNetwork()
        target = args.agi_target or f"{network.host_address}:{settings.agi_port}"
        sandbox = PeerSandbox(peer_dir(settings.sandbox_dir), sandbox, network, target)
    elif args.agi_target:
        raise SandboxError("--agi-target is the second Asterisk's: use it with --peer")
    if action == "up":
        status = sandbox.up()
    elif action == "down":
        sandbox.down()
        status = sandbox.status()
    else:
        status = sandbox.status()
    print(f"built:   {'yes' if status.built else 'no'} {status.version}")
    print(f"running: {'yes' if status.running else 'no'}")
    if status.detail:
        print(status.detail)
    return 0 if action != "status" or status.running else 3


def _call(settings: Settings, args: argparse.Namespace) -> int:
    from ivr.sandbox.calls.place import place_call
    from ivr.sandbox.calls.tester import tester_ami

    async def main() -> int:
        ami = tester_ami(settings, args.ami_user, args.ami_secret_file)
        await ami.connect()
        try:
            report = await place_call(
                ami,
                args.line,
                args.caller,
                args.dtmf,
                caller_name=args.name,
                talk=args.talk,
                timeout=args.timeout,
            )
        finally:
            await ami.close()
        print(report.summary())
        return 0 if report.ok else 1

    return asyncio.run(main())


def _flow_validate(settings: Settings, target: str) -> int:
    """`ivr flow validate [DIR | FILE]`: a file is checked within its directory (the names
    it uses are defined there) and only its own problems are listed."""
    from ivr.flow.loader import validate_library
    from ivr.queues.model import load_queues
    from ivr.yamlfiles.problems import printable

    path = Path(target)
    only = path if path.suffix in (".yaml", ".csv") and not path.is_dir() else None
    directory = path.parent if only else path
    if only and not only.exists() and not only.is_symlink():
        print(printable(f"flows: no such file: {only}"))
        return 1
    queues = load_queues(settings.queues_file)
    validation = validate_library(directory, queues.queues, queues.caller_classes)
    shown = [p for p in validation.problems if only is None or Path(p.file) == only]
    for problem in shown:
        print(problem)
    errors = sum(1 for p in shown if not p.warning)
    warnings = len(shown) - errors
    elsewhere = sum(1 for p in validation.problems if not p.warning) - errors
    where = printable(str(only or directory))
    if errors:
        print(f"flows: {errors} error(s), {warnings} warning(s) in {where}")
    if only and elsewhere:
        print(
            printable(
                f"flows: {'' if errors else f'{where} ok, but '}{directory} does not load: "
                f"{elsewhere} error(s) in other files (ivr flow validate {directory})"
            )
        )
    library = validation.library
    if library is None:
        return 1
    if only:
        print(f"flows: ok ({warnings} warning(s)) in {where}")
        return 0
    print(
        f"flows: ok ({len(library.flows)} flows, {len(library.lines)} lines, "
        f"{warnings} warning(s)) in {where}"
    )
    return 0


def _flow_simulate(settings: Settings, args: argparse.Namespace) -> int:
    import json
    from datetime import UTC, datetime

    from ivr.calls.simulate import simulate
    from ivr.flow.loader import load_library
    from ivr.queues.model import load_queues
    from ivr.storage.db import open_store
    from ivr.storage.directory import StoreDirectory

    queues = load_queues(settings.queues_file)
    library = load_library(
        args.directory or settings.flows_dir, queues=queues.queues, classes=queues.caller_classes
    )
    at = datetime.now(UTC)
    if args.at:
        try:
            at = datetime.fromisoformat(args.at)
        except ValueError:
            raise ConfigError(f"--at: {args.at!r} is not an ISO time (2026-11-24T21:30)") from None
        if at.tzinfo is None:  # a local time in the flows' calendar
            at = at.replace(tzinfo=library.calendar.timezone)
    with open_store(settings.database_url) as sessions:
        result = asyncio.run(
            simulate(
                library,
                queues,
                args.line,
                args.caller,
                args.dtmf,
                StoreDirectory(sessions, settings.phone_country_code),
                lambda: at,
            )
        )
    print(json.dumps(result.as_dict(), ensure_ascii=False) if args.json else result.text())
    return 0


def _flow_graph(settings: Settings, args: argparse.Namespace) -> int:
    from ivr.flow.graph import file_stem, flow_dot, render_graph
    from ivr.flow.loader import load_library

    library = load_library(args.directory or settings.flows_dir)
    out = Path(args.out)
    if args.all:
        for name in sorted(library.flows):
            target = out / f"{file_stem(name)}.svg"
            render_graph(flow_dot(library, name, link_suffix=".svg"), target)
            print(f"wrote {target}")
    else:
        render_graph(flow_dot(library, args.flow), out)
        print(f"wrote {out}")
    return 0


def _flow_schema(args: argparse.Namespace) -> int:
    import json

    from ivr.flow.schema_files import SCHEMAS

    text = json.dumps(SCHEMAS[args.file](), ensure_ascii=False, indent=2) + "\n"
    if args.out is None:
        print(text, end="")
        return 0
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text, encoding="utf-8")
    print(f"wrote {args.out}")
    return 0


def _agent(settings: Settings, args: argparse.Namespace) -> int:
    """Agent commands go through the running engine's API (it owns app_queue membership)."""
    import json
    import os
    import urllib.error
    import urllib.request

    base = f"http://{settings.http_host}:{settings.http_port}/api/agents"
    if args.agent_command == "list":
        request = urllib.request.Request(base)
    else:
        token = args.token or os.environ.get("IVR_API_TOKEN", "")
        body = json.dumps({"reason": args.reason} if args.agent_command == "pause" else {})
        request = urllib.request.Request(
            f"{base}/{args.agent}/{args.agent_command}",
            data=body.encode(),
            headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
            method="POST",
        )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            reply = json.load(response)
    except urllib.error.HTTPError as exc:
        print(f"ivr agent: {json.load(exc).get('error', exc.reason)}", file=sys.stderr)
        return 1
    except OSError as exc:
        print(f"ivr agent: the engine is not reachable at {base}: {exc}", file=sys.stderr)
        return 2
    for agent in reply.get("agents", [reply.get("agent")]):
        reason = f" ({agent['reason']})" if agent["reason"] else ""
        queues = ",".join(agent["queues"]) or "-"
        print(f"{agent['id']:<8} {agent['state']:<11}{reason} queues={queues}  {agent['name']}")
    return 0


def _token(args: argparse.Namespace) -> int:
    """Mint a token (printed once) or hash one given on stdin; print its token-list entry."""
    from ivr.web.tokens import MIN_TOKEN, mint_token, principal_for, token_entry

    try:
        principal = principal_for(args.role, args.agent)
    except ValueError as exc:
        print(f"ivr token: {exc}", file=sys.stderr)
        return 2
    if args.token_command == "new":
        token = mint_token()
        print(f"token: {token}")
        print(f"entry: {token_entry(principal, token)}")
        print(
            f"Give the token to its user ({principal.describe()}); it is not stored anywhere. "
            "Put the entry in IVR_API_TOKENS_FILE (a line) or IVR_API_TOKENS (comma-separated).",
            file=sys.stderr,
        )
        return 0
    token = sys.stdin.readline().strip()
    if len(token) < MIN_TOKEN:
        print(
            f"ivr token hash: expected a token of {MIN_TOKEN}+ characters on stdin "
            "(a short token can be guessed: mint one with `ivr token new`)",
            file=sys.stderr,
        )
        return 2
    print(f"entry: {token_entry(principal, token)}")
    return 0


def _queues_validate(path: str, telephony: Path) -> int:
    from ivr.queues.model import validate_queues
    from ivr.telephony.sip_config import validate_telephony
    from ivr.yamlfiles.problems import print_problems

    sip, _ = validate_telephony(telephony)  # its own problems: `ivr telephony validate`
    config, problems = validate_queues(path, None if sip is None else set(sip.phones))
    errors, warnings = print_problems(problems)
    if config is None:
        print(f"queues: {errors} error(s), {warnings} warning(s) in {path}")
        return 1
    print(
        f"queues: ok ({len(config.queues)} queues, {len(config.caller_classes)} caller classes, "
        f"{len(config.agents)} agents, {warnings} warning(s)) in {path}"
    )
    return 0


def _queues_render(path: str) -> int:
    from ivr.queues.model import validate_queues
    from ivr.queues.render import render_queues_conf

    config, problems = validate_queues(path)
    for problem in problems:
        print(problem, file=sys.stderr)
    if config is None:
        return 1
    sys.stdout.write(render_queues_conf(config))
    return 0


def _store_seed(settings: Settings, path: str) -> int:
    from ivr.storage.db import open_store
    from ivr.storage.seed import load_seed_file, seed_store

    with open_store(settings.database_url) as sessions:
        result = seed_store(sessions, load_seed_file(path))
    print(f"store: {result.subscribers} subscribers, {result.outages} outages from {path}")
    return 0


def _demo(settings: Settings, verbose: bool) -> int:
    from ivr.demo.tour import run_demo

    if not verbose:  # the demo's own narrative is printed; logs only when something is wrong
        logging.getLogger().setLevel(logging.WARNING)
    return asyncio.run(run_demo(settings))


def _asterisk_config(settings: Settings, args: argparse.Namespace) -> int:
    from dataclasses import replace

    from ivr.queues.model import load_queues
    from ivr.sandbox.asterisk_conf import (
        ENGINE_EVENTS,
        ENGINE_READ,
        ENGINE_WRITE,
        AmiUser,
        AsteriskSettings,
        render_asterisk_config,
    )
    from ivr.telephony.pjsip_render import AUTH_FILE
    from ivr.telephony.sip_config import load_telephony
    from ivr.telephony.sip_secrets import sip_secrets

    out: Path = args.out
    secret = settings.resolved_ami_secret()
    telephony = load_telephony(args.telephony)
    if args.sip_bind:  # e.g. 0.0.0.0 in a container, whatever the sandbox's file says
        bound = {n: replace(t, host=args.sip_bind) for n, t in telephony.transports.items()}
        telephony = replace(telephony, transports=bound)
    secrets_file = args.sip_secrets or Path(settings.var_dir) / "sip-secrets.conf"
    passwords = None if args.without_sip_secrets else sip_secrets(telephony, secrets_file)
    files = render_asterisk_config(
        AsteriskSettings(
            ami_port=settings.ami_port, agi_url=args.agi_url or f"agi://{args.agi_host}"
        ),
        load_queues(settings.queues_file),
        (AmiUser(settings.ami_user, secret, ENGINE_READ, ENGINE_WRITE, ENGINE_EVENTS),),
        sandbox=False,
        telephony=telephony,
        sip_secrets=passwords,
    )
    for rel, text in files.items():
        target = out / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")
    (out / "manager.conf").chmod(0o600)
    if AUTH_FILE in files:
        (out / AUTH_FILE).chmod(0o600)
        print(f"SIP passwords: {secrets_file} (phones' generated there on first use)")
    print(f"wrote {len(files)} files to {out}")
    return 0


DTMF_HELP = (
    "one token per request for keys (each menu, choose, language or collect ask, retries "
    'included): digits pressed at once, "-" silence (times out), e.g. "- 2 12345#"'
)


def _dtmf(text: str) -> tuple[str, ...]:
    """The `--dtmf` script, read one way for `ivr call` and `ivr flow simulate`."""
    from ivr.flow.dtmf import parse_dtmf

    try:
        return parse_dtmf(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc).removeprefix("--dtmf: ")) from None


def _agi_url(text: str) -> str:
    from ivr.sandbox.asterisk_conf import agi_url

    try:
        return agi_url(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _agi_host(text: str) -> str:
    _agi_url(f"agi://{text}")
    return text


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="ivr", description=__doc__)
    parser.add_argument("--config", help="settings file (YAML); IVR_* variables override it")
    parser.add_argument("-v", "--verbose", action="store_true")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("serve", help="run the engine: FastAGI + AMI + HTTP")
    _add_supervise(sub)
    sandbox = sub.add_parser("sandbox", help="the Asterisk 22 sandbox (chroot)")
    sandbox.add_argument("action", choices=["up", "down", "status"])
    sandbox.add_argument(
        "--peer",
        action="store_true",
        help="the second Asterisk (HA tests): its own chroot copy in network namespace ivr-ast2",
    )
    sandbox.add_argument(
        "--agi-target",
        default="",
        metavar="HOST:PORT",
        help="with --peer: where its FastAGI goes (default 10.87.0.1, the host side, at the "
        "engine's AGI port)",
    )
    _add_call(sub)
    _add_flow(sub)
    _add_queues(sub)
    _add_agent(sub)
    _add_token(sub)
    _add_store(sub)
    sub.add_parser("demo", help="sandbox + engine + scripted calls, with a summary")
    add_report_parser(sub)
    _add_asterisk_config(sub)
    add_telephony_parser(sub, TELEPHONY_FILE)
    return parser


def _add_supervise(sub: "SubParsers[argparse.ArgumentParser]") -> None:
    supervise = sub.add_parser(
        "supervise",
        help="run the engine under a watchdog: restart it when it exits or stops pinging",
    )
    for flag, default, text in (
        ("--watchdog", 5.0, "seconds without a ping before the engine is killed"),
        ("--start-timeout", 90.0, "seconds the engine has to get ready"),
        ("--stop-timeout", 30.0, "seconds a stopping engine has before it is killed"),
        ("--restart-delay", 1.0, "seconds before a restart (doubles while restarts fail)"),
        ("--max-restart-delay", 30.0, "the longest delay between restarts"),
    ):
        supervise.add_argument(flag, type=float, default=default, help=f"{text} ({default:g})")
    supervise.add_argument(
        "engine_command",
        nargs=argparse.REMAINDER,
        metavar="-- COMMAND",
        help="the engine's command line (default: ivr serve)",
    )


def _add_call(sub: "SubParsers[argparse.ArgumentParser]") -> None:
    call = sub.add_parser("call", help="place a test call through the sandbox")
    call.add_argument("--line", required=True, help="the dialled number (DID)")
    call.add_argument("--caller", required=True, help="the caller's number (ANI)")
    call.add_argument("--name", default="", help="the caller's name")
    call.add_argument("--dtmf", type=_dtmf, default="", help=DTMF_HELP)
    call.add_argument("--talk", type=float, default=0.0, help="seconds to stay once queued")
    call.add_argument("--timeout", type=float, default=60.0, help="give up after this long")
    call.add_argument("--ami-user", default="ivr-tester")
    call.add_argument("--ami-secret-file", default=None)


def _add_flow(sub: "SubParsers[argparse.ArgumentParser]") -> None:
    flow = sub.add_parser("flow", help="work with call flows")
    flow_sub = flow.add_subparsers(dest="flow_command", required=True)
    validate = flow_sub.add_parser("validate", help="check flows/ (exit 1 on errors)")
    validate.add_argument(
        "directory",
        nargs="?",
        help="flows directory (default: IVR_FLOWS_DIR), or one file in it: its problems only",
    )
    sim = flow_sub.add_parser("simulate", help="run a line's flow without Asterisk")
    sim.add_argument("--line", required=True, help="the dialled number (DID)")
    sim.add_argument("--caller", default="", help="the caller's number (ANI)")
    sim.add_argument("--dtmf", type=_dtmf, default="", help=DTMF_HELP)
    sim.add_argument("--at", help="the time of the call, ISO (local to calendar.yaml if no zone)")
    sim.add_argument("--json", action="store_true", help="print JSON")
    sim.add_argument("--directory", help="flows directory (default: IVR_FLOWS_DIR)")
    graph = flow_sub.add_parser("graph", help="draw a flow with Graphviz (SVG, PNG or DOT)")
    which = graph.add_mutually_exclusive_group(required=True)
    which.add_argument("flow", nargs="?", help="the flow's name (its name: in the file)")
    which.add_argument("--all", action="store_true", help="every flow, one SVG each in --out")
    graph.add_argument("--out", required=True, help="FILE.svg|.png|.dot, or a directory with --all")
    graph.add_argument("--directory", help="flows directory (default: IVR_FLOWS_DIR)")
    schema = flow_sub.add_parser("schema", help="print the JSON Schema of a flows/ file")
    schema.add_argument("--file", choices=["flow", "lines", "prompts", "calendar"], default="flow")
    schema.add_argument("--out", type=Path, help="write it to this file instead")
    add_flow_history_parsers(flow_sub)


def _add_queues(sub: "SubParsers[argparse.ArgumentParser]") -> None:
    queues = sub.add_parser("queues", help="check or render queues.yaml")
    queues_sub = queues.add_subparsers(dest="queues_command", required=True)
    for name, text in (
        ("validate", "check queues.yaml (exit 1 on errors)"),
        ("render", "print the queues.conf it renders to"),
    ):
        command = queues_sub.add_parser(name, help=text)
        command.add_argument("file", nargs="?", help="queues file (default: IVR_QUEUES_FILE)")
        if name == "validate":
            command.add_argument(
                "--telephony", type=Path, default=TELEPHONY_FILE,
                help=f"agents' PJSIP/<id> must be its phones (default: {TELEPHONY_FILE})",
            )  # fmt: skip


def _add_agent(sub: "SubParsers[argparse.ArgumentParser]") -> None:
    agent = sub.add_parser("agent", help="agents: list, login, logout, ready, pause")
    agent_sub = agent.add_subparsers(dest="agent_command", required=True)
    agent_sub.add_parser("list", help="every agent and its state")
    for verb in ("login", "logout", "ready", "pause"):
        action = agent_sub.add_parser(verb, help=f"{verb} an agent (needs a token)")
        action.add_argument("agent", help="the agent id in queues.yaml")
        action.add_argument(
            "--token",
            help="API token (default: IVR_API_TOKEN): the agent's own token, or a supervisor's",
        )
        if verb == "pause":
            action.add_argument("--reason", required=True, help="lunch, training, ...")


def _add_token(sub: "SubParsers[argparse.ArgumentParser]") -> None:
    token = sub.add_parser("token", help="API tokens: mint one, or hash one for the config")
    token_sub = token.add_subparsers(dest="token_command", required=True)
    for name, text in (
        ("new", "mint a token: print it (once) and its entry for the token list"),
        ("hash", "read a token on stdin, print its entry for the token list"),
    ):
        command = token_sub.add_parser(name, help=text)
        command.add_argument("--role", required=True, choices=["admin", "supervisor", "agent"])
        command.add_argument("--agent", help="the agent id (queues.yaml) an agent token is for")


def _add_store(sub: "SubParsers[argparse.ArgumentParser]") -> None:
    store = sub.add_parser("store", help="the subscriber store")
    store_sub = store.add_subparsers(dest="store_command", required=True)
    seed = store_sub.add_parser("seed", help="load subscribers and outages from a YAML file")
    seed.add_argument("file", help="e.g. data/demo-store.yaml")


def _add_asterisk_config(sub: "SubParsers[argparse.ArgumentParser]") -> None:
    conf = sub.add_parser("asterisk-config", help="write Asterisk configs for production")
    conf.add_argument("--out", required=True, type=Path)
    conf.add_argument(
        "--agi-host", default="127.0.0.1:4573", type=_agi_host, help="the engine's host:port"
    )
    conf.add_argument(
        "--agi-url",
        default=None,
        type=_agi_url,
        help="IVR_AGI instead of agi://<--agi-host>: hagi://<name> for engines behind DNS SRV",
    )
    conf.add_argument("--telephony", type=Path, default=TELEPHONY_FILE, help="telephony.yaml")
    conf.add_argument(
        "--sip-secrets",
        type=Path,
        help="SIP passwords file, created 0600 if missing (default: IVR_VAR_DIR/sip-secrets.conf)",
    )
    conf.add_argument("--sip-bind", help="listen for SIP on this address (all transports)")
    conf.add_argument(
        "--without-sip-secrets",
        action="store_true",
        help="leave pjsip_auth.conf out (docker: mounted as a secret at run time)",
    )


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    logging.getLogger("alembic").setLevel(logging.DEBUG if args.verbose else logging.WARNING)
    try:
        settings = load_settings(args.config)
        if args.command == "serve":
            return _serve(settings)
        if args.command == "supervise":
            return _supervise(args)
        if args.command == "sandbox":
            return _sandbox(settings, args)
        if args.command == "call":
            return _call(settings, args)
        if args.command == "flow" and args.flow_command == "simulate":
            return _flow_simulate(settings, args)
        if args.command == "flow" and args.flow_command == "graph":
            return _flow_graph(settings, args)
        if args.command == "flow" and args.flow_command == "schema":
            return _flow_schema(args)
        if args.command == "flow" and args.flow_command in FLOW_HISTORY_COMMANDS:
            return run_flow_history(settings, args)
        if args.command == "flow" and args.flow_command == "validate":
            return _flow_validate(settings, args.directory or settings.flows_dir)
        if args.command == "queues":
            path = args.file or settings.queues_file
            if args.queues_command == "validate":
                return _queues_validate(path, args.telephony)
            return _queues_render(path)
        if args.command == "agent":
            return _agent(settings, args)
        if args.command == "token":
            return _token(args)
        if args.command == "store":
            return _store_seed(settings, args.file)
        if args.command == "demo":
            return _demo(settings, args.verbose)
        if args.command == "report":
            return run_report(settings, args)
        if args.command == "telephony":
            return run_telephony(args)
        return _asterisk_config(settings, args)
    except ConfigError as exc:
        print(f"ivr: configuration error: {exc}", file=sys.stderr)
        return 2
    except Exception as exc:
        from ivr.cli.errors import user_facing

        message = user_facing(exc)
        if message is None:
            raise
        print(f"ivr: {message}", file=sys.stderr)
        return 2
