"""The library's settings: one place reads the environment; every error names
its setting; secrets never show in ``repr``; ``auto`` picks the backend from
HF_TOKEN; the library reads its own settings and no bot's."""

from __future__ import annotations

import logging
import os
from pathlib import Path

import pytest

from faq_core.embedders import HFInferenceEmbedder, OnnxEmbedder, OpenAIEmbedder, TEIEmbedder, make_embedder
from faq_core.errors import ConfigError
from faq_core.settings import DEFAULT_MODEL, Settings, load_settings


def test_defaults_from_an_empty_environment() -> None:
    settings = load_settings({})
    assert settings.hf_token is None
    assert settings.embedding_backend == "auto"
    assert settings.embedding_model == DEFAULT_MODEL
    assert settings.embedding_url is None
    assert settings.embedding_timeout == 30.0
    assert settings.embedding_connect_timeout == 5.0
    assert settings.embedding_retry_budget == 20.0
    assert settings.embedding_batch_size == 32
    assert settings.faq_index is None and settings.faq_index_revision is None
    assert settings.faq_min_score is None
    assert settings.faq_top_k == 3
    assert settings.log_level == "INFO"
    assert settings.resolved_backend() == "local"


def test_values_are_parsed_and_trimmed() -> None:
    settings = load_settings(
        {
            "HF_TOKEN": "  hf_abc  ",
            "EMBEDDING_BACKEND": "TEI",
            "EMBEDDING_URL": "http://tei.internal:8080",
            "EMBEDDING_TIMEOUT": "2.5",
            "EMBEDDING_BATCH_SIZE": "16",
            "FAQ_MIN_SCORE": "0.42",
            "FAQ_TOP_K": "5",
            "FAQ_INDEX": "acme/faq-index",
            "FAQ_INDEX_REVISION": "0123abc",
            "FAQ_CACHE_DIR": "~/faq-cache",
            "LOG_LEVEL": "debug",
            "EMBEDDING_MODEL": "",  # blank means unset: the default stays
        }
    )
    assert settings.hf_token == "hf_abc"
    assert settings.embedding_backend == "tei"
    assert settings.embedding_url == "http://tei.internal:8080"
    assert settings.embedding_timeout == 2.5
    assert settings.embedding_batch_size == 16
    assert settings.faq_min_score == pytest.approx(0.42)
    assert settings.faq_top_k == 5
    assert settings.faq_index == "acme/faq-index"
    assert settings.faq_index_revision == "0123abc"
    assert settings.faq_cache_dir == Path("~/faq-cache").expanduser()
    assert settings.log_level == "DEBUG"
    assert settings.embedding_model == DEFAULT_MODEL


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("EMBEDDING_BACKEND", "bert"),
        ("EMBEDDING_TIMEOUT", "soon"),
        ("EMBEDDING_TIMEOUT", "0"),
        ("EMBEDDING_CONNECT_TIMEOUT", "-1"),
        ("EMBEDDING_RETRY_BUDGET", "nan"),
        ("EMBEDDING_BATCH_SIZE", "0"),
        ("EMBEDDING_BATCH_SIZE", "2.5"),
        ("FAQ_MIN_SCORE", "1.5"),
        ("FAQ_MIN_SCORE", "high"),
        ("FAQ_MIN_SCORE", "-1"),
        ("FAQ_MIN_SCORE", "-0.01"),
        ("FAQ_MIN_SCORE", "nan"),
        ("FAQ_TOP_K", "-3"),
        ("FAQ_TOP_K", "11"),
        ("FAQ_TOP_K", "100000"),
        ("LOG_LEVEL", "LOUD"),
        ("LOG_LEVEL", "5"),
        ("EMBEDDING_URL", "not-a-url"),
        ("EMBEDDING_URL", "tei.internal:8080/embed"),
        ("EMBEDDING_URL", "ftp://tei.internal/embed"),
        ("LOG_FORMAT", "xml"),
    ],
)
def test_every_error_names_the_setting(name: str, value: str) -> None:
    with pytest.raises(ConfigError) as caught:
        load_settings({name: value})
    assert name in str(caught.value)
    assert repr(value) in str(caught.value) or value in str(caught.value)


def test_the_limits_and_level_names_that_are_accepted() -> None:
    assert load_settings({"FAQ_TOP_K": "10"}).faq_top_k == 10
    assert load_settings({"FAQ_TOP_K": "1"}).faq_top_k == 1
    assert load_settings({"LOG_LEVEL": "warn"}).log_level == "WARNING"
    assert load_settings({"LOG_LEVEL": "error"}).log_level == "ERROR"
    assert load_settings({"LOG_FORMAT": "JSON"}).log_format == "json"
    assert load_settings({"FAQ_MIN_SCORE": "0"}).faq_min_score == 0.0
    assert load_settings({"FAQ_MIN_SCORE": "1"}).faq_min_score == 1.0


def test_a_min_score_outside_the_confidence_range_is_one_line_naming_the_setting() -> None:
    with pytest.raises(ConfigError) as caught:
        load_settings({"FAQ_MIN_SCORE": "-1"})
    assert str(caught.value) == "FAQ_MIN_SCORE must be a confidence from 0 to 1, got '-1'"


@pytest.mark.parametrize("backend", ["tei", "openai"])
def test_self_hosted_backends_need_a_url(backend: str) -> None:
    with pytest.raises(ConfigError, match="EMBEDDING_URL"):
        load_settings({"EMBEDDING_BACKEND": backend})


def test_auto_backend_resolution() -> None:
    assert load_settings({}).resolved_backend() == "local"
    assert load_settings({"HF_TOKEN": "hf_x"}).resolved_backend() == "hf-inference"
    explicit = load_settings({"HF_TOKEN": "hf_x", "EMBEDDING_BACKEND": "local"})
    assert explicit.resolved_backend() == "local"


def test_make_embedder_follows_the_resolved_backend(caplog: pytest.LogCaptureFixture) -> None:
    token = "hf_do_not_log_me_987"
    caplog.set_level(logging.DEBUG)
    hf = make_embedder(load_settings({"HF_TOKEN": token}))
    assert isinstance(hf, HFInferenceEmbedder)
    assert hf.url == f"https://router.huggingface.co/hf-inference/models/{DEFAULT_MODEL}/pipeline/feature-extraction"
    tei = make_embedder(load_settings({"EMBEDDING_BACKEND": "tei", "EMBEDDING_URL": "http://h:8080/"}))
    assert isinstance(tei, TEIEmbedder) and tei.url == "http://h:8080/embed"
    oai = make_embedder(load_settings({"EMBEDDING_BACKEND": "openai", "EMBEDDING_URL": "http://h/v1/embeddings"}))
    assert isinstance(oai, OpenAIEmbedder) and oai.url == "http://h/v1/embeddings"
    local = make_embedder(load_settings({"EMBEDDING_MODEL": "all-MiniLM-L6-v2"}))
    assert isinstance(local, OnnxEmbedder) and local.model_id == DEFAULT_MODEL
    # The choice is logged, once per embedder, and never with the token.
    choices = [r.getMessage() for r in caplog.records if r.getMessage().startswith("embedding backend:")]
    assert len(choices) == 4
    assert "hf-inference" in choices[0] and "EMBEDDING_BACKEND=auto" in choices[0]
    assert token not in caplog.text


def test_dotenv_is_read_but_the_environment_wins(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / ".env").write_text("FAQ_TOP_K=7\nEMBEDDING_TIMEOUT=9\n", encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("EMBEDDING_TIMEOUT", "4")
    monkeypatch.setenv("FAQ_TOP_K", "placeholder")
    monkeypatch.delenv("FAQ_TOP_K")  # recorded, so whatever .env sets is removed afterwards
    settings = load_settings()
    assert settings.faq_top_k == 7
    assert settings.embedding_timeout == 4.0
    assert os.environ["FAQ_TOP_K"] == "7"


def test_settings_are_frozen() -> None:
    settings = Settings()
    with pytest.raises(AttributeError):
        settings.faq_top_k = 9  # type: ignore[misc]


def test_setting_names_lists_every_variable_the_library_reads_and_no_other() -> None:
    names = Settings.names()
    assert {"HF_TOKEN", "EMBEDDING_BACKEND", "EMBEDDING_URL", "FAQ_INDEX", "LOG_FORMAT", "ZENDESK_API_TOKEN"} <= names
    assert not names & {"SLACK_BOT_TOKEN", "DATABASE_URL", "METRICS_PORT", "DISCORD_BOT_TOKEN"}
    assert all(name.isupper() for name in names)


def test_the_library_secrets_are_absent_from_repr() -> None:
    secrets = {"HF_TOKEN": "hf_secretvalue_1", "ZENDESK_API_TOKEN": "zendesk_2", "INTERCOM_TOKEN": "intercom_3"}
    settings = load_settings(secrets)
    assert not any(value in repr(settings) for value in secrets.values())
    assert sorted(settings.secrets()) == sorted(secrets.values())
