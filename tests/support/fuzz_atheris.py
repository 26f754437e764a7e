"""Coverage-guided fuzzing of the MQTT payload decoders and the config loader with atheris (libFuzzer).

`pip install -e ".[fuzz]"`, then `python -m tests.support.fuzz_atheris -atheris_runs=200000` (any libFuzzer
flag works: `-max_len=4096`, a corpus folder). Where the generators of tests/support/fuzz.py know the shapes,
libFuzzer finds the byte sequences that reach new branches of the decoders; the invariants are the same
(tests/support/fuzz_targets.py). A broken invariant stops the run with the input saved as a crash-* file.
"""

from __future__ import annotations

import atexit
import logging
import random
import shutil
import sys
import tempfile
from pathlib import Path

import atheris

with atheris.instrument_imports(include=["collector.sources.mqtt", "hazwatch.config"]):
    from tests.support.fuzz_targets import FORMS, SENSORS, check_config, check_payload

from tests.support.fuzz import SMALL_CONFIG, payload_for

CHOICES = [None, "NOPE", *SENSORS]


def one_input(data: bytes) -> None:
    provider = atheris.FuzzedDataProvider(data)
    target = provider.ConsumeIntInRange(0, len(FORMS))
    if target == len(FORMS):
        check_config(provider.ConsumeBytes(provider.remaining_bytes()))
        return
    sensor = CHOICES[provider.ConsumeIntInRange(0, len(CHOICES) - 1)]
    check_payload(FORMS[target].name, provider.ConsumeBytes(provider.remaining_bytes()), sensor)


def seed_corpus(folder: Path, n: int = 300) -> None:
    """Valid and hostile payloads of every form as a starting corpus, so libFuzzer begins inside the JSON shapes."""
    rng = random.Random(1)
    for i in range(n):
        target = rng.randrange(len(FORMS) + 1)
        body = SMALL_CONFIG if target == len(FORMS) else payload_for(rng, FORMS[target].name)
        # FuzzedDataProvider reads the integer choices from the end of the input.
        (folder / f"seed-{i}").write_bytes(body + bytes([rng.randrange(len(CHOICES)), target]))


def main() -> None:
    logging.disable(logging.WARNING)
    argv = list(sys.argv)
    if not any(Path(arg).is_dir() for arg in argv[1:] if not arg.startswith("-")):
        corpus = Path(tempfile.mkdtemp(prefix="hazwatch-corpus-"))
        atexit.register(shutil.rmtree, corpus, True)
        seed_corpus(corpus)
        argv.append(str(corpus))
    atheris.Setup(argv, one_input)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
