"""Records that cannot be processed: the DLQ wire format, the writer, replay and bulk replay."""
