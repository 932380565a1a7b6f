"""Detection: pure window and baseline math, streaming detectors and crisis resemblance."""
