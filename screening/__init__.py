"""The screening core: pure functions of an entry, its IOR's registry record, reference
data and a rule pack. No Kafka, no clock, no I/O: time comes in as an argument, so the
stream worker, the batch ``screen`` command and ``backtest`` decide identically."""
