"""PII redaction: typed placeholders, counts per type, nothing else in the text changes."""

from __future__ import annotations

import re

import pytest
from filter_docs import apply

from stages.pii import PiiRedaction, find_pii, redact

KEY = "-----BEGIN RSA PRIVATE KEY-----\nMIIEpAIBAAKCAQEA7bq98s1xZ2\nQ0b3sK9fYw==\n-----END RSA PRIVATE KEY-----"
CODE = (
    "# Maintainer: Jane Roe <jane.roe@mail.example.com>\n"
    "SERVER = \"203.0.113.77\"  # and the v6 one: 2001:db8:85a3::8a2e:370:7334 is documentation\n"
    "PUBLIC = '8.8.4.4'\n"
    "AWS_ACCESS_KEY_ID = 'AKIAIOSFODNN7EXAMPLE'\n"
    "aws_secret_access_key = \"wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY\"\n"
    "TOKEN = 'ghp_" + "a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P6q7R8" + "'\n"
    f"PEM = '''{KEY}'''\n"
    "VERSION = '1.2.3.4.5'\n"
)


def test_code_document_redacted_with_typed_placeholders_and_counts():
    row = apply(PiiRedaction(), CODE, kind="code", domain="code")[0]
    assert row["drop_reason"] is None
    text = row["text"]
    assert "<EMAIL>" in text and "jane.roe" not in text
    assert "PUBLIC = '<IPV4>'" in text
    assert "203.0.113.77" in text and "2001:db8:85a3::8a2e:370:7334" in text  # documentation ranges stay
    assert "AWS_ACCESS_KEY_ID = '<AWS_ACCESS_KEY>'" in text
    assert 'aws_secret_access_key = "<AWS_SECRET_KEY>"' in text  # the name stays, the value goes
    assert "TOKEN = '<GITHUB_TOKEN>'" in text and "PEM = '''<PRIVATE_KEY>'''" in text
    assert "VERSION = '1.2.3.4.5'" in text  # not an address
    counts = {k: v for k, v in row.items() if k.startswith("pii_") and v}
    assert counts == {"pii_email": 1, "pii_ipv4": 1, "pii_aws_access_key": 1, "pii_aws_secret_key": 1,
                      "pii_github_token": 1, "pii_private_key": 1}


def test_redaction_changes_nothing_outside_the_spans():
    spans = find_pii(CODE)
    out = redact(CODE, spans)
    # put the originals back in place of the placeholders: the original text again
    parts = re.split(r"<[A-Z0-9_]+>", out)
    assert len(parts) == len(spans) + 1
    rebuilt = parts[0] + "".join(CODE[s:e] + parts[i + 1] for i, (s, e, _) in enumerate(spans))
    assert rebuilt == CODE


def test_secrets_only_in_code_documents_by_default():
    text = "Contact ops@site.example.org; key AKIAIOSFODNN7EXAMPLE; server 8.8.8.8."
    web = apply(PiiRedaction(), text)[0]
    assert web["text"] == "Contact <EMAIL>; key AKIAIOSFODNN7EXAMPLE; server <IPV4>."
    assert web["pii_aws_access_key"] == 0
    everywhere = apply(PiiRedaction({"secret_kinds": ["code", "warc"]}), text)[0]
    assert "<AWS_ACCESS_KEY>" in everywhere["text"]


def test_ipv6_public_and_private():
    text = "Reach us at 2606:4700:4700::1111 or ::1 locally, fe80::1 on the link; at 10:30:00 we start."
    row = apply(PiiRedaction(), text)[0]
    assert row["text"] == "Reach us at <IPV6> or ::1 locally, fe80::1 on the link; at 10:30:00 we start."
    assert row["pii_ipv6"] == 1
    all_ips = apply(PiiRedaction({"keep_private_ips": False}), text)[0]
    assert all_ips["pii_ipv6"] == 3


def test_multilingual_text_around_redactions_is_untouched():
    text = "请联系 wang.li@example.cn 获取帮助。お問い合わせは info@example.jp まで。"
    row = apply(PiiRedaction(), text, lang="zh")[0]
    assert row["text"] == "请联系 <EMAIL> 获取帮助。お問い合わせは <EMAIL> まで。"
    assert row["pii_email"] == 2


def test_types_can_be_limited_and_unknown_types_are_rejected():
    row = apply(PiiRedaction({"types": ["IPV4"]}), "mail a@b.example.com from 8.8.8.8")[0]
    assert row["text"] == "mail a@b.example.com from <IPV4>"
    with pytest.raises(ValueError, match="unknown PII types"):
        PiiRedaction({"types": ["PHONE"]})
