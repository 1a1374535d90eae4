"""Kafka client settings (plaintext, SASL, SSL) and topic creation, shared by both services."""

import asyncio
import contextlib
import logging
from typing import Any

from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import TopicAlreadyExistsError
from aiokafka.helpers import create_ssl_context
from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

log = logging.getLogger(__name__)


class KafkaSettings(BaseSettings):
    """Kafka: the brokers, the events topic and the topics `create-topics` makes."""

    model_config = SettingsConfigDict(env_prefix="", extra="ignore", frozen=True)

    kafka_bootstrap_servers: str = Field(
        default="localhost:9092", description="Kafka brokers, comma-separated host:port.")
    kafka_topic: str = Field(
        default="events.transactions",
        description="The topic of payment events (key = payer id, so one account stays in order).")
    kafka_topic_partitions: int = Field(
        default=6, ge=1, le=1000,
        description="Partitions of the topics `create-topics` creates (existing topics are kept).")
    # Unset: 3 replicas, or as many as there are brokers if fewer, and min.insync.replicas 2
    # once there are 3 replicas (1 below), so one broker may be down while acks=all writes
    # still succeed and no acknowledged write lives on one disk only.
    kafka_replication_factor: int | None = Field(
        default=None, ge=1, le=32,
        description="Replicas of the topics `create-topics` creates; unset: 3, or the number "
                    "of brokers when there are fewer.")
    kafka_min_insync_replicas: int | None = Field(
        default=None, ge=1, le=32,
        description="`min.insync.replicas` of the topics `create-topics` creates; unset: 2 "
                    "with 3 or more replicas, else 1.")
    kafka_security_protocol: str = Field(
        default="PLAINTEXT",
        description="`PLAINTEXT`, `SSL`, `SASL_PLAINTEXT` or `SASL_SSL`.")
    kafka_sasl_mechanism: str | None = Field(
        default=None, description="SASL mechanism (e.g. `PLAIN`, `SCRAM-SHA-512`); unset: no SASL.")
    kafka_sasl_username: str | None = Field(default=None, description="SASL user name.")
    kafka_sasl_password: SecretStr | None = Field(default=None, description="SASL password.")
    kafka_ssl_cafile: str | None = Field(
        default=None,
        description="CA bundle that signs the brokers' certificates (SSL and SASL_SSL); unset: "
                    "the system's.")


def client_options(settings: KafkaSettings) -> dict[str, Any]:
    """Keyword arguments every aiokafka client of ours takes."""
    options: dict[str, Any] = {
        "bootstrap_servers": settings.kafka_bootstrap_servers,
        "security_protocol": settings.kafka_security_protocol,
    }
    if settings.kafka_sasl_mechanism:
        options["sasl_mechanism"] = settings.kafka_sasl_mechanism
        options["sasl_plain_username"] = settings.kafka_sasl_username
        if settings.kafka_sasl_password is not None:
            options["sasl_plain_password"] = settings.kafka_sasl_password.get_secret_value()
    if settings.kafka_security_protocol in {"SSL", "SASL_SSL"}:
        options["ssl_context"] = create_ssl_context(cafile=settings.kafka_ssl_cafile)
    return options


def replication(settings: KafkaSettings, brokers: int) -> tuple[int, int]:
    """(replication factor, min.insync.replicas) for new topics on a cluster of `brokers`."""
    factor = settings.kafka_replication_factor or max(1, min(3, brokers))
    min_isr = settings.kafka_min_insync_replicas or (2 if factor >= 3 else 1)
    if min_isr > factor:
        raise ValueError(f"KAFKA_MIN_INSYNC_REPLICAS={min_isr} exceeds the replication "
                         f"factor {factor}: every acks=all write would fail")
    return factor, min_isr


async def ensure_topics(
    settings: KafkaSettings, topics: list[str], partitions: int, timeout_s: float = 30.0
) -> None:
    """Create the topics that are missing; existing ones are left as they are."""
    admin = AIOKafkaAdminClient(**client_options(settings), request_timeout_ms=10_000)
    await asyncio.wait_for(admin.start(), timeout_s)
    try:
        existing = set(await asyncio.wait_for(admin.list_topics(), timeout_s))
        missing = [t for t in topics if t not in existing]
        if missing:
            cluster = await asyncio.wait_for(admin.describe_cluster(), timeout_s)
            factor, min_isr = replication(settings, len(cluster.get("brokers", [])))
            new = [NewTopic(t, num_partitions=partitions, replication_factor=factor,
                            topic_configs={"min.insync.replicas": str(min_isr)})
                   for t in missing]
            # Another process may create it between our list and create.
            with contextlib.suppress(TopicAlreadyExistsError):
                await asyncio.wait_for(admin.create_topics(new), timeout_s)
            log.info("topics created", extra={"topics": missing, "partitions": partitions,
                                              "replication_factor": factor,
                                              "min_insync_replicas": min_isr})
    finally:
        await admin.close()


async def stop_client(client: Any, timeout_s: float = 10.0) -> None:
    """Stop an aiokafka client, bounded. aiokafka can let the CancelledError of its own
    internal tasks escape from stop(); swallow that one unless we are being cancelled."""
    try:
        await asyncio.wait_for(client.stop(), timeout_s)
    except asyncio.CancelledError:
        task = asyncio.current_task()
        if task is not None and task.cancelling():
            raise
    except Exception as exc:  # noqa: BLE001 - stopping must not fail the caller
        log.warning("kafka client stop failed", extra={"error": repr(exc)})


async def delete_topics(
    settings: KafkaSettings, topics: list[str], timeout_s: float = 30.0
) -> None:
    """Delete topics (tests and benchmarks clean up after themselves); missing ones are fine."""
    admin = AIOKafkaAdminClient(**client_options(settings), request_timeout_ms=10_000)
    await asyncio.wait_for(admin.start(), timeout_s)
    try:
        existing = set(await asyncio.wait_for(admin.list_topics(), timeout_s))
        doomed = [t for t in topics if t in existing]
        if doomed:
            await asyncio.wait_for(admin.delete_topics(doomed), timeout_s)
    finally:
        await admin.close()
