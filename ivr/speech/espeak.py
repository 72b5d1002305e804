"""Text-to-speech prompts: espeak-ng renders, sox converts to what Asterisk's format_wav plays.

Each (voice, speed, text) is rendered once into ``<cache_dir>/<language>/<key>.wav`` (8 kHz,
mono, signed 16-bit); the file appears atomically, so Asterisk never plays a partial one.
"""

import asyncio
import hashlib
import json
import logging
import os
import re
import subprocess
import tempfile
from collections.abc import Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

log = logging.getLogger(__name__)

DEFAULT_VOICES: Mapping[str, str] = {"uk": "uk", "ru": "ru", "en": "en-us", "hu": "hu"}
TIMEOUT_S = 30.0
RENDER_THREADS = 2
_LANGUAGE = re.compile(r"[A-Za-z0-9_-]+")


class SpeechError(RuntimeError):
    """A prompt could not be rendered; the message says what failed and why."""


class SpeechRenderer:
    """Renders prompt text to cached WAV files and returns their Asterisk sound names."""

    def __init__(
        self,
        cache_dir: str | Path,
        sound_prefix: str,
        voices: Mapping[str, str] = DEFAULT_VOICES,
        speed: int = 150,
        espeak: str = "espeak-ng",
        sox: str = "sox",
    ) -> None:
        bad = [language for language in voices if not _LANGUAGE.fullmatch(language)]
        if bad:
            raise SpeechError(f"invalid speech language names (used as directories): {bad}")
        self._cache_dir = Path(cache_dir)
        self._prefix = sound_prefix.rstrip("/")
        self._voices = dict(voices)
        self._speed = speed
        self._espeak = espeak
        self._sox = sox
        self._inflight: dict[Path, asyncio.Task[str]] = {}

    def sound_name(self, text: str, language: str) -> str:
        """The Asterisk sound name (no extension) for text; pure, renders nothing."""
        return self._locate(text, language)[0]

    def render(self, text: str, language: str) -> str:
        """Blocking: render text unless cached; return its sound name."""
        return self._ensure(text, language)[0]

    async def sound_for(self, text: str, language: str) -> str:
        """render() in a worker thread; concurrent requests for one text share one render."""
        name, path = self._locate(text, language)
        if path.exists():
            return name
        task = self._inflight.get(path)
        if task is None:
            task = asyncio.create_task(asyncio.to_thread(self.render, text, language))
            self._inflight[path] = task
            task.add_done_callback(lambda done: self._finished(path, done))
        # shield: a caller hanging up must not cancel the render the others wait for
        return await asyncio.shield(task)

    def render_all(self, items: Iterable[tuple[str, str]]) -> int:
        """Blocking: render every (text, language) not cached yet; return how many were."""
        pending: dict[Path, tuple[str, str]] = {}
        for text, language in items:
            path = self._locate(text, language)[1]
            if not path.exists():
                pending.setdefault(path, (text, language))
        with ThreadPoolExecutor(RENDER_THREADS, thread_name_prefix="speech") as pool:
            rendered = pool.map(lambda item: self._ensure(*item)[1], pending.values())
            return sum(rendered)

    def _finished(self, path: Path, task: "asyncio.Task[str]") -> None:
        self._inflight.pop(path, None)
        if not task.cancelled() and (exc := task.exception()) is not None:
            log.warning("speech render failed: %s", exc)

    def _locate(self, text: str, language: str) -> tuple[str, Path]:
        voice = self._voices.get(language)
        if voice is None:
            known = ", ".join(sorted(self._voices))
            raise SpeechError(f"no speech voice for language {language!r} (known: {known})")
        if not text.strip():
            raise SpeechError(f"empty text to speak in language {language!r}")
        digest = hashlib.sha256(json.dumps([voice, self._speed, text]).encode()).hexdigest()
        key = digest[:20]
        return f"{self._prefix}/{language}/{key}", self._cache_dir / language / f"{key}.wav"

    def _ensure(self, text: str, language: str) -> tuple[str, bool]:
        """Return (sound name, whether it was rendered now)."""
        name, path = self._locate(text, language)
        if path.exists():
            return name, False
        _make_dir(self._cache_dir)
        _make_dir(path.parent)
        with tempfile.TemporaryDirectory(prefix=".render-", dir=path.parent) as tmp:
            raw, out = os.path.join(tmp, "raw.wav"), os.path.join(tmp, "out.wav")
            speed = str(self._speed)
            voice = self._voices[language]
            espeak = [self._espeak, "-b", "1", "-v", voice, "-s", speed, "-w", raw, "--stdin"]
            self._run(espeak, "espeak-ng", text.encode("utf-8"))
            sox = [self._sox, "-V1", raw, "-r", "8000", "-c", "1", "-b", "16"]
            self._run([*sox, "-e", "signed-integer", "-t", "wav", out], "sox", b"")
            os.chmod(out, 0o644)
            os.replace(out, path)
        log.info("speech: rendered %s (%d bytes)", name, path.stat().st_size)
        return name, True

    @staticmethod
    def _run(argv: list[str], package: str, stdin: bytes) -> None:
        program = argv[0]
        try:
            done = subprocess.run(argv, input=stdin, capture_output=True, timeout=TIMEOUT_S)
        except FileNotFoundError:
            raise SpeechError(
                f"{program} not found: install the Debian package {package}"
            ) from None
        except subprocess.TimeoutExpired:
            raise SpeechError(f"{program} timed out after {TIMEOUT_S:g} s") from None
        except OSError as exc:
            raise SpeechError(f"cannot run {program}: {exc}") from exc
        if done.returncode != 0:
            lines = done.stderr.decode("utf-8", "replace").strip().splitlines()
            reason = lines[-1] if lines else "no error output"
            raise SpeechError(f"{program} failed (exit {done.returncode}): {reason}")


def _make_dir(directory: Path) -> None:
    """Create directory (and parents) readable by other users; leave existing ones alone."""
    try:
        directory.mkdir(parents=True)
    except FileExistsError:
        return
    os.chmod(directory, 0o755)
