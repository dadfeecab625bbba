"""The engine: the Scheduler claims jobs, the Runner runs one and stores its neutral outcome, the Pool
keeps warm worker processes that isolate crashes."""
