"""PostgreSQL: the write path (COPY, offsets, fence) and the reads behind REST."""
