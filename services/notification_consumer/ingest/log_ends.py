"""Log-end offsets of the main topic through a Kafka client of its own (console, or REST
without the ingest role).

It never borrows the ingest loop's client: a sampling call cancelled by its timeout
(a broker restart) must not disturb the client that fetches and commits.
"""

import asyncio
import contextlib

from aiokafka import AIOKafkaConsumer
from aiokafka.structs import TopicPartition

from service_kit.kafka import KafkaSettings, client_options, stop_client

TIMEOUT_S = 5.0


class KafkaResting(Exception):
    """The last read failed; the console leaves Kafka alone for a while (a broker that is
    restarting has better things to do than answer a dashboard)."""


class LogEnds:
    def __init__(self, settings: KafkaSettings) -> None:
        self.settings = settings
        self._client: AIOKafkaConsumer | None = None
        self._backoff_s = 0.0
        self._resume_at = 0.0

    async def read(self) -> dict[int, int]:
        loop = asyncio.get_running_loop()
        if loop.time() < self._resume_at:
            wait_s = self._resume_at - loop.time()
            raise KafkaResting(f"Kafka unreachable; next try in {wait_s:.0f}s")
        try:
            ends = await asyncio.wait_for(self._read(), TIMEOUT_S)
        except BaseException:
            await self.close()  # start afresh next time
            self._backoff_s = min(60.0, max(5.0, self._backoff_s * 2))
            self._resume_at = loop.time() + self._backoff_s
            raise
        self._backoff_s = 0.0
        return ends

    async def _read(self) -> dict[int, int]:
        if self._client is None:
            client = AIOKafkaConsumer(**client_options(self.settings), enable_auto_commit=False,
                                      client_id="log-ends")
            try:
                await client.start()
            except BaseException:
                with contextlib.suppress(Exception):
                    await stop_client(client, 5)
                raise
            self._client = client
        topic = self.settings.kafka_topic
        partitions = await self._client._client._wait_on_metadata(topic)
        tps = [TopicPartition(topic, p) for p in sorted(partitions)]
        ends = await self._client.end_offsets(tps)
        return {tp.partition: int(offset) for tp, offset in ends.items()}

    async def close(self) -> None:
        if self._client is not None:
            client, self._client = self._client, None
            await stop_client(client, 5)
