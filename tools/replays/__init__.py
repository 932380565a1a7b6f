"""Builder of the replay scenario library (tests/fixtures/replays); run through tools/build_replays.py."""
