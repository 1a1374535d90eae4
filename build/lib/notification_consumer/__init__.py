"""The notification consumer: Kafka in -> PostgreSQL effects, exactly once -> REST out."""
