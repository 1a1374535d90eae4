"""docs/configuration.md is exactly what tools.config_doc generates from the Settings classes,
and every setting carries the description that table shows."""

from pathlib import Path

import pytest

from tools import config_doc


def test_every_setting_has_a_description() -> None:
    undocumented = [
        f"{cls.__module__}.{cls.__qualname__}.{name}"
        for cls in config_doc.declaring_classes() for name in config_doc.own_fields(cls)
        if not cls.model_fields[name].description
    ]
    assert not undocumented, f"add Field(description=...) to: {undocumented}"


def test_configuration_doc_is_up_to_date() -> None:
    current = config_doc.TARGET.read_text(encoding="utf-8")
    assert current == config_doc.generate(), (
        "docs/configuration.md is out of date: run `make docs` and commit it")


def test_every_setting_is_in_the_table() -> None:
    text = config_doc.TARGET.read_text(encoding="utf-8")
    for settings in config_doc.SERVICES.values():
        for name in settings.model_fields:
            assert f"| `{name.upper()}` |" in text, name


def test_the_check_mode_fails_on_a_stale_file(tmp_path: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    stale = tmp_path / "configuration.md"
    stale.write_text("# Configuration\n", encoding="utf-8")
    monkeypatch.setattr(config_doc, "TARGET", stale)
    monkeypatch.setattr(config_doc, "ROOT", tmp_path)
    assert config_doc.main(["--check"]) == 1
    assert config_doc.main([]) == 0
    assert config_doc.main(["--check"]) == 0


def test_sections_name_who_reads_them() -> None:
    text = config_doc.generate()
    assert "Read by both services; declared in `KafkaSettings`" in text
    assert "Read by the transaction API; declared in `Settings`" in text
    assert "Read by the notification consumer; declared in `WebhookSettings`" in text
