"""Kafka in: the group link, the batch loop, planning (pure), isolation, ownership, offsets."""
