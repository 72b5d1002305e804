"""Names shared with Asterisk: channel variables, UserEvents and AGI routes.

A name here equals its name on the wire: dialplans/ uses the same strings.
"""

from typing import Final

# Channel variables the engine sets for the dialplan (read back in dialplans/ivr.conf).
VAR_STATUS: Final = "IVR_STATUS"  # "ok" once the engine finished; anything else = fallback
VAR_QUEUE: Final = "IVR_QUEUE"  # app_queue queue name
VAR_PRIORITY: Final = "IVR_PRIORITY"  # becomes QUEUE_PRIO
VAR_CALLER_CLASS: Final = "IVR_CLASS"  # caller class (new_connection, existing_service, ...)
VAR_LANGUAGE: Final = "IVR_LANGUAGE"  # the menu's language (the line's), for the queue side
VAR_MENU_PATH: Final = "IVR_PATH"  # the menu path, e.g. "main:1>internet:2"
VAR_LINE: Final = "IVR_LINE"  # the dialled line (DID); set by the dialplan
VAR_FALLBACK: Final = "IVR_FALLBACK"  # "1" when the dialplan took the fallback path
VAR_QUEUED_AT: Final = "IVR_QUEUED_AT"  # epoch s the caller last entered Queue() (dialplan)
VAR_FIRST_QUEUED_AT: Final = "IVR_FIRST_QUEUED_AT"  # ... first entered Queue() (dialplan)
VAR_LADDER: Final = "IVR_LADDER"  # the queue whose escalation ladder the caller follows
VAR_STEPS_DONE: Final = "IVR_STEPS_DONE"  # its steps done, e.g. "0 1" (the engine)

STATUS_OK: Final = "ok"  # route the caller to IVR_QUEUE
STATUS_DONE: Final = "done"  # the menu served the caller (self-service): hang up

# UserEvents the engine's dialplan emits on AMI (dialplans/ivr.conf).
EVENT_ROUTE: Final = "IvrRoute"  # the engine routed a call
EVENT_FALLBACK: Final = "IvrFallback"  # the dialplan took the fallback path
EVENT_SELF_SERVICE: Final = "IvrSelfService"  # the menu served the caller and hung up
EVENT_MENU_RETRY: Final = "IvrMenuRetry"  # the engine died mid-menu: the menu once more

# AGI routes: agi://host:port/<name> in dialplans/.
ROUTE_INBOUND: Final = "inbound"
ROUTE_FALLBACK_SWEEP: Final = "fallback-sweep"  # journals the calls the fallback served

# Classic AGI scripts the fallback path runs (agi_scripts/, `AGI(<name>,...)` in dialplans/)
# and the variables they set: IVR_QUEUE, IVR_CLASS, IVR_PRIORITY as above, and these.
SCRIPT_FALLBACK_ROUTE: Final = "fallback_route.py"
SCRIPT_METER_READING: Final = "meter_reading.py"
VAR_FALLBACK_LOOKUP: Final = "IVR_FALLBACK_LOOKUP"  # ok | no-database | failed (the lookups)
VAR_FALLBACK_SELF: Final = "IVR_FALLBACK_SELF"  # "meter": the line's self-service, no queue
VAR_OFFLINE_STATUS: Final = "IVR_OFFLINE_STATUS"  # "done": a script served the caller

# Queues: variables the engine sets on a waiting caller, dialplan contexts it sends calls to.
VAR_CALLBACK_OFFERED: Final = "IVR_CALLBACK_OFFERED"  # "1": the accept key means a callback
VAR_CALLBACK_KEY: Final = "IVR_CALLBACK_KEY"  # the key that takes the offered callback
VAR_CALLBACK_CONFIRM: Final = "IVR_CALLBACK_CONFIRM"  # sound played once a callback is taken
VAR_CALLBACK_ID: Final = "IVR_CALLBACK_ID"  # on a callback's outbound leg
VAR_CALLBACK_GREETING: Final = "IVR_CALLBACK_GREETING"  # what the called-back caller hears
VAR_WHISPER_SOUND: Final = "IVR_WHISPER_SOUND"  # what a whisper leg plays
CONTEXT_QUEUE: Final = "ivr-queue"  # s: queue the caller in IVR_QUEUE with IVR_PRIORITY
CONTEXT_WHISPER: Final = "ivr-whisper"  # s: plays IVR_WHISPER_SOUND (into a ChanSpy leg)
CONTEXT_CALLBACK: Final = "ivr-callback"  # s: a called-back caller joins the queue
CONTEXT_FALLBACK_SWEEP: Final = "ivr-fallback-sweep"  # s: AGI fallback-sweep

# UserEvents the dialplan emits for the queues.
EVENT_CALLBACK_ACCEPTED: Final = "IvrCallbackAccepted"  # a waiting caller took the offer
EVENT_CALLBACK_ANSWERED: Final = "IvrCallbackAnswered"  # a called-back caller picked up

# UserEvents the engine emits over AMI (documented in the README).
EVENT_TARGET_MISSED: Final = "IvrTargetMissed"
EVENT_WAIT_PREDICTED: Final = "IvrWaitPredicted"  # a caller's predicted wait at his join
EVENT_ESCALATION: Final = "IvrEscalation"
EVENT_TALK_LIMIT: Final = "IvrTalkLimit"
EVENT_UNREACHABLE_REPORT: Final = "IvrUnreachableReport"
EVENT_CALLBACK_OUTCOME: Final = "IvrCallbackOutcome"
EVENT_SUPERVISOR_MONITOR: Final = "IvrSupervisorMonitor"  # a supervisor joined a call
EVENT_OUTAGE_SUSPECTED: Final = "IvrOutageSuspected"  # a spike of calls: an outage alert
EVENT_OUTAGE_SUBSIDED: Final = "IvrOutageSubsided"  # the spike is over
