"""The transaction API: HTTP in -> durable payment request -> Kafka out."""
