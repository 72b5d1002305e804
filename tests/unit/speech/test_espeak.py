"""Speech prompts rendered by the real espeak-ng and sox into WAVs Asterisk's format_wav plays."""

import asyncio
import os
import shutil
import stat
import wave
from pathlib import Path

import pytest

from ivr.sandbox.asterisk_conf import MODULES
from ivr.speech import espeak
from ivr.speech.espeak import SpeechError, SpeechRenderer

TEXTS = {
    "en": "Thank you for calling. Please hold.",
    "uk": "Дякуємо за дзвінок. Будь ласка, зачекайте.",
    "ru": "Спасибо за звонок. Пожалуйста, подождите.",
    "hu": "Köszönjük a hívását. Kérjük, várjon türelemmel.",
}


@pytest.fixture
def tools() -> None:
    """Fail (never skip) when the system tools are missing: CI installs them."""
    for program in ("espeak-ng", "sox"):
        if shutil.which(program) is None:
            pytest.fail(f"{program} is not installed: run scripts/system-deps.sh as root")


@pytest.fixture
def renderer(tmp_path: Path, tools: None) -> SpeechRenderer:
    return SpeechRenderer(tmp_path / "tts", "ivr-tts")


def counting_espeak(tmp_path: Path, delay: float = 0.0) -> tuple[str, Path]:
    """A real espeak-ng behind a wrapper that records each run; returns (program, log)."""
    runs = tmp_path / "espeak-runs"
    script = tmp_path / "counting-espeak"
    script.write_text(f'#!/bin/sh\necho run >> "{runs}"\nsleep {delay}\nexec espeak-ng "$@"\n')
    script.chmod(0o755)
    return str(script), runs


def run_count(runs: Path) -> int:
    return len(runs.read_text().splitlines()) if runs.exists() else 0


def wav_path(tmp_path: Path, name: str) -> Path:
    return tmp_path / "tts" / (name.removeprefix("ivr-tts/") + ".wav")


def assert_asterisk_wav(path: Path) -> None:
    with wave.open(str(path), "rb") as wav:  # wave rejects anything but plain PCM
        assert wav.getframerate() == 8000
        assert wav.getnchannels() == 1
        assert wav.getsampwidth() == 2
        assert wav.getnframes() >= 0.3 * 8000


@pytest.mark.parametrize("language", sorted(TEXTS))
def test_renders_8khz_mono_16bit_wav(
    renderer: SpeechRenderer, tmp_path: Path, language: str
) -> None:
    name = renderer.render(TEXTS[language], language)
    assert name == renderer.sound_name(TEXTS[language], language)
    assert name.startswith(f"ivr-tts/{language}/") and len(name.rsplit("/", 1)[1]) == 20
    path = wav_path(tmp_path, name)
    assert_asterisk_wav(path)
    assert [p.name for p in path.parent.iterdir()] == [path.name]  # no temporary left behind


def test_cyrillic_is_spoken_not_spelled_as_bytes(renderer: SpeechRenderer, tmp_path: Path) -> None:
    short = wav_path(tmp_path, renderer.render("Так", "uk"))
    long = wav_path(tmp_path, renderer.render("Так. " * 10, "uk"))
    with wave.open(str(short)) as a, wave.open(str(long)) as b:
        assert 0 < a.getnframes() < b.getnframes()


def test_files_readable_by_other_users_under_strict_umask(
    renderer: SpeechRenderer, tmp_path: Path
) -> None:
    old = os.umask(0o077)
    try:
        path = wav_path(tmp_path, renderer.render(TEXTS["en"], "en"))
    finally:
        os.umask(old)
    assert stat.S_IMODE(path.stat().st_mode) == 0o644
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o755
    assert stat.S_IMODE((tmp_path / "tts").stat().st_mode) == 0o755


def test_cached_text_is_not_rendered_again(tmp_path: Path, tools: None) -> None:
    first = SpeechRenderer(tmp_path / "tts", "ivr-tts")
    name = first.render(TEXTS["hu"], "hu")
    path = wav_path(tmp_path, name)
    before = path.stat().st_mtime_ns
    offline = SpeechRenderer(tmp_path / "tts", "ivr-tts", espeak=str(tmp_path / "no-espeak"))
    assert offline.render(TEXTS["hu"], "hu") == name
    assert path.stat().st_mtime_ns == before
    with pytest.raises(SpeechError, match="not found"):
        offline.render("Something new", "hu")


def test_name_depends_on_text_voice_and_speed(tmp_path: Path) -> None:
    base = SpeechRenderer(tmp_path, "p")
    assert base.sound_name("Hello", "en") == base.sound_name("Hello", "en")
    assert base.sound_name("Hello", "en") != base.sound_name("Hello!", "en")
    british = SpeechRenderer(tmp_path, "p", voices={"en": "en-gb"})
    assert british.sound_name("Hello", "en") != base.sound_name("Hello", "en")
    assert SpeechRenderer(tmp_path, "p", speed=120).sound_name("Hello", "en") != (
        base.sound_name("Hello", "en")
    )
    assert SpeechRenderer(tmp_path, "other/").sound_name("Hello", "en").startswith("other/en/")


def test_unknown_language_names_it_and_the_known_ones(tmp_path: Path) -> None:
    renderer = SpeechRenderer(tmp_path, "p")
    with pytest.raises(SpeechError, match=r"'de'.*known: en, hu, ru, uk"):
        renderer.render("Hallo", "de")
    assert not any(tmp_path.iterdir())


@pytest.mark.parametrize("text", ["", "  \n\t"])
def test_empty_text_is_rejected(tmp_path: Path, text: str) -> None:
    with pytest.raises(SpeechError, match="empty text"):
        SpeechRenderer(tmp_path, "p").render(text, "en")


def test_language_must_be_a_safe_directory_name(tmp_path: Path) -> None:
    with pytest.raises(SpeechError, match="invalid speech language"):
        SpeechRenderer(tmp_path, "p", voices={"../etc": "en"})


def test_missing_espeak_is_a_clear_error(tmp_path: Path) -> None:
    renderer = SpeechRenderer(tmp_path, "p", espeak=str(tmp_path / "missing-espeak-ng"))
    expected = "missing-espeak-ng not found: install the Debian package espeak-ng"
    with pytest.raises(SpeechError, match=expected):
        renderer.render("Hello", "en")


def test_missing_sox_is_a_clear_error(tmp_path: Path, tools: None) -> None:
    renderer = SpeechRenderer(tmp_path, "p", sox="no-such-sox")
    with pytest.raises(SpeechError, match="no-such-sox not found: install the Debian package sox"):
        renderer.render("Hello", "en")
    assert list((tmp_path / "en").iterdir()) == []  # the temporary directory was removed


def test_espeak_failure_reports_its_error(tmp_path: Path, tools: None) -> None:
    renderer = SpeechRenderer(tmp_path, "p", voices={"xx": "zzz"})
    with pytest.raises(SpeechError, match=r"espeak-ng failed \(exit 1\): .*voice does not exist"):
        renderer.render("Hello", "xx")


def test_hanging_espeak_times_out(
    tmp_path: Path, tools: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    script = tmp_path / "hanging-espeak"
    script.write_text("#!/bin/sh\nexec sleep 10\n")
    script.chmod(0o755)
    monkeypatch.setattr(espeak, "TIMEOUT_S", 0.2)
    with pytest.raises(SpeechError, match=r"timed out after 0\.2 s"):
        SpeechRenderer(tmp_path, "p", espeak=str(script)).render("Hello", "en")


async def test_concurrent_requests_share_one_render(tmp_path: Path, tools: None) -> None:
    program, runs = counting_espeak(tmp_path, delay=0.3)
    renderer = SpeechRenderer(tmp_path / "tts", "ivr-tts", espeak=program)
    names = await asyncio.gather(*(renderer.sound_for(TEXTS["uk"], "uk") for _ in range(5)))
    assert set(names) == {renderer.sound_name(TEXTS["uk"], "uk")}
    assert run_count(runs) == 1
    assert_asterisk_wav(wav_path(tmp_path, names[0]))
    # cached now: no new run, no thread needed
    assert await renderer.sound_for(TEXTS["uk"], "uk") == names[0]
    assert run_count(runs) == 1


async def test_a_cancelled_waiter_does_not_cancel_the_shared_render(
    tmp_path: Path, tools: None
) -> None:
    program, runs = counting_espeak(tmp_path, delay=0.3)
    renderer = SpeechRenderer(tmp_path / "tts", "ivr-tts", espeak=program)
    hung_up = asyncio.create_task(renderer.sound_for(TEXTS["ru"], "ru"))
    waiting = asyncio.create_task(renderer.sound_for(TEXTS["ru"], "ru"))
    await asyncio.sleep(0.05)
    hung_up.cancel()
    name = await waiting
    assert run_count(runs) == 1
    assert_asterisk_wav(wav_path(tmp_path, name))


async def test_sound_for_raises_speech_error(tmp_path: Path) -> None:
    renderer = SpeechRenderer(tmp_path, "p", espeak=str(tmp_path / "none"))
    with pytest.raises(SpeechError, match="not found"):
        await renderer.sound_for("Hello", "en")
    with pytest.raises(SpeechError, match="'xx'"):
        await renderer.sound_for("Hello", "xx")


def test_render_all_counts_only_new_renders(tmp_path: Path, tools: None) -> None:
    program, runs = counting_espeak(tmp_path)
    renderer = SpeechRenderer(tmp_path / "tts", "ivr-tts", espeak=program)
    renderer.render(TEXTS["en"], "en")
    items = [*((text, language) for language, text in TEXTS.items()), (TEXTS["uk"], "uk")]
    assert renderer.render_all(items) == 3  # en was cached, the uk duplicate renders once
    assert run_count(runs) == 4
    for text, language in items:
        assert_asterisk_wav(wav_path(tmp_path, renderer.sound_name(text, language)))
    assert renderer.render_all(items) == 0
    assert run_count(runs) == 4


def test_render_all_checks_languages_before_rendering(tmp_path: Path, tools: None) -> None:
    program, runs = counting_espeak(tmp_path)
    renderer = SpeechRenderer(tmp_path / "tts", "ivr-tts", espeak=program)
    with pytest.raises(SpeechError, match="'de'"):
        renderer.render_all([(TEXTS["en"], "en"), ("Hallo", "de")])
    assert run_count(runs) == 0


def test_asterisk_loads_format_wav() -> None:
    assert "format_wav.so" in MODULES
