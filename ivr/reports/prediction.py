"""`ivr report prediction`: how good the wait predicted at the join was, per queue and
overall (ivr.storage.prediction): calls with a prediction that finished waiting, the mean
absolute error, the bias (mean of real minus predicted: positive, callers waited longer
than predicted) and the share predicted within --within seconds."""

from ivr.reports.render import Column, Kind, Report, Row, Table
from ivr.reports.window import Window
from ivr.storage.prediction import PredictionQuality, PredictionRepository

COLUMNS = (
    Column("queue", "Queue", Kind.TEXT, blank="(not known)"),
    Column("calls", "Calls"),
    Column("mean_absolute_error_seconds", "Mean abs error", Kind.SECONDS),
    Column("bias_seconds", "Bias (s)"),
    Column("within", "Within"),
    Column("share_within", "Share within", Kind.RATIO),
)


def quality_row(quality: PredictionQuality) -> Row:
    return {
        "queue": quality.key,
        "calls": quality.calls,
        "mean_absolute_error_seconds": quality.mean_absolute_error,
        "bias_seconds": None if quality.mean_error is None else round(quality.mean_error, 1),
        "within": quality.within,
        "share_within": quality.share_within,
    }


def prediction_report(repository: PredictionRepository, window: Window, within: float) -> Report:
    queues, overall = repository.quality(window.since, window.until, tolerance=within)
    rows = [quality_row(q) for q in queues]
    title = f"Predicted against real wait by queue, {window.label()}"
    note = (
        f"Calls whose wait was predicted when they joined (an agent of the queue on duty) and "
        f"that were answered or abandoned. Within = predicted within ±{within:g} s of the real "
        f"wait. Bias = mean of real minus predicted wait: above 0, callers waited longer than "
        f"predicted."
    )
    return Report(
        (Table(title, COLUMNS, rows, quality_row(overall) if rows else None),), notes=(note,)
    )
