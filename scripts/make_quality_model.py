#!/usr/bin/env python3
"""Build the demo's fastText quality model, `manifests/sample/quality.bin`, with `curator train quality`.

Both training sets are written by the project, deterministically (one seeded
`random.Random`): positives are article-like documents made from the sample's own sentence
pools (scripts/make_sample.py; seven languages), negatives are the kinds of page a quality
classifier should reject - keyword-stuffed SEO copy, shop listings, link farms, navigation
and cookie boilerplate - written here from word pools in the same languages, so the model
learns "prose vs. junk" and not "which language". The model is small (dim 16, unigrams) so
it can live in the repository; its held-out metrics go to `quality.bin.json`.

    .venv/bin/python scripts/make_quality_model.py [--out manifests/sample/quality.bin]
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))

from make_sample import POOLS  # noqa: E402  (the sample's sentence pools)

SEED = 20240311

SPAM = {
    "en": {
        "products": ["cheap", "best", "discount", "replica", "watches", "loans", "casino", "bonus", "pills",
                     "shoes", "outlet", "sale", "deal", "free", "shipping", "online", "buy", "now", "top", "rated",
                     "review", "coupon", "code", "offer", "price", "lowest", "guaranteed", "instant", "approval"],
        "phrases": ["click here", "buy now", "limited offer", "free shipping", "best price guaranteed",
                    "order today", "add to cart", "sign up now", "act fast", "100% free", "no credit check",
                    "read more", "learn more", "subscribe", "log in", "register", "home", "contact us",
                    "privacy policy", "terms of use", "we use cookies", "accept all cookies", "share on facebook"],
    },
    "de": {
        "products": ["billig", "günstig", "rabatt", "angebot", "kredit", "sofort", "kostenlos", "versand", "jetzt",
                     "kaufen", "schuhe", "uhren", "bestpreis", "gutschein", "casino", "bonus", "online", "shop"],
        "phrases": ["hier klicken", "jetzt kaufen", "in den warenkorb", "kostenloser versand", "mehr erfahren",
                    "weiterlesen", "anmelden", "impressum", "datenschutz", "alle cookies akzeptieren", "kontakt"],
    },
    "fr": {
        "products": ["pas", "cher", "promo", "soldes", "crédit", "gratuit", "livraison", "acheter", "maintenant",
                     "montres", "chaussures", "casino", "bonus", "meilleur", "prix", "code", "réduction"],
        "phrases": ["cliquez ici", "acheter maintenant", "ajouter au panier", "livraison gratuite", "en savoir plus",
                    "lire la suite", "connexion", "mentions légales", "accepter les cookies", "contact"],
    },
    "es": {
        "products": ["barato", "oferta", "descuento", "gratis", "envío", "comprar", "ahora", "relojes", "zapatos",
                     "casino", "bono", "mejor", "precio", "cupón", "crédito", "rápido", "online"],
        "phrases": ["haz clic aquí", "comprar ahora", "añadir al carrito", "envío gratis", "leer más",
                    "iniciar sesión", "aviso legal", "aceptar cookies", "contacto", "suscríbete"],
    },
}
SPAM["it"] = SPAM["es"]
SPAM["pt"] = SPAM["es"]


def positive_doc(rng: random.Random, lang: str) -> str:
    """An article: 2-5 paragraphs of sentences from one topic pool of the sample."""
    topic = rng.choice(sorted(POOLS[lang]))
    pool = list(POOLS[lang][topic])
    rng.shuffle(pool)
    k = rng.randint(4, min(14, len(pool)))
    sentences = pool[:k]
    paras, i = [], 0
    while i < len(sentences):
        n = rng.randint(2, 4)
        paras.append(" ".join(sentences[i:i + n]))
        i += n
    return "\n\n".join(paras)


def negative_doc(rng: random.Random, lang: str) -> str:
    """Junk of one of four kinds: keyword stuffing, shop listing, link farm, boilerplate."""
    pools = SPAM.get(lang, SPAM["en"])
    words, phrases = pools["products"], pools["phrases"]
    kind = rng.randrange(4)
    if kind == 0:  # keyword stuffing
        return " ".join(rng.choice(words) for _ in range(rng.randint(40, 160)))
    if kind == 1:  # shop listing
        lines = [f"{rng.choice(words).title()} {rng.choice(words)} {rng.choice(words)} - "
                 f"{rng.randint(5, 999)}.{rng.randint(0, 99):02d} EUR - {rng.choice(phrases)}"
                 for _ in range(rng.randint(8, 30))]
        return "\n".join(lines)
    if kind == 2:  # link farm
        return "\n".join(f"{rng.choice(phrases)} | {rng.choice(words)} {rng.choice(words)} | "
                         f"www.{rng.choice(words)}-{rng.choice(words)}{rng.randint(1, 99)}.example"
                         for _ in range(rng.randint(10, 40)))
    return " ".join(rng.choice(phrases) for _ in range(rng.randint(15, 60)))  # navigation and banners


def build_sets(n_per_lang: int = 60, seed: int = SEED) -> tuple[list[str], list[str]]:
    rng = random.Random(seed)
    langs = sorted(POOLS)
    pos = [positive_doc(rng, lang) for lang in langs for _ in range(n_per_lang)]
    neg = [negative_doc(rng, lang) for lang in langs for _ in range(n_per_lang)]
    return pos, neg


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default=str(ROOT / "manifests" / "sample" / "quality.bin"))
    args = ap.parse_args(argv)
    from curator.cli import main as curator

    pos, neg = build_sets()
    with tempfile.TemporaryDirectory() as tmp:
        for name, docs in (("positive", pos), ("negative", neg)):
            with open(Path(tmp) / f"{name}.jsonl", "w", encoding="utf-8") as f:
                for d in docs:
                    f.write(json.dumps({"text": d}, ensure_ascii=False) + "\n")
        return curator(["train", "quality", "--positive", f"{tmp}/positive.jsonl",
                        "--negative", f"{tmp}/negative.jsonl", "--out", args.out,
                        "--dim", "16", "--word-ngrams", "1", "--epoch", "10", "--lr", "0.5", "--seed", "1"])


if __name__ == "__main__":
    sys.exit(main())
