"""The soak: real parts under load with a fault every `--fault-every` seconds, rotating through all of them.

    .venv/bin/python -m tests.support.soak --minutes 5 --fault-every 30 --plant-interval 0.0032 --one-gateway \
        --rounds-per-message 2 --broker-saves second

`--plant-interval` sets the plant's rounds (33 readings each; 0.0032 s asks for 10.3 k readings/s; the rate the
plant published and the rate the broker acknowledged are printed: `python -m tests.support.capacity` measures
what limits them). `--one-gateway` publishes each round as one batch message of 33 readings instead of the
example's 25 messages, and `--rounds-per-message 2` two rounds in one message (150 messages/s at 10 k readings/s):
a broker saving after every change takes a few hundred messages a second, shared by the plant's publications and
hazwatch's acknowledgements, and each save rewrites its whole store, so once hazwatch is away for a few seconds
at this rate the backlog slows the broker below the offered rate (`--broker-saves second` saves once a second
instead; docs/reliability.md, section 6). A reading counts as served once the broker acknowledged it. At the end
it waits for everything to arrive and prints the figures: faults, readings served and stored per sensor (and the
sensors and rounds that differ), alarm events announced and delivered, duplicates, resident memory of hazwatch
after each fault and the largest write-ahead log seen. Exit status 1 when an invariant does not hold.
"""

from __future__ import annotations

import argparse
import itertools
import sys
import time
from pathlib import Path

from tests.support.fault_rig import FaultRig


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--minutes", type=float, default=5.0)
    parser.add_argument("--fault-every", type=float, default=30.0, help="seconds between faults")
    parser.add_argument("--fault-seconds", type=float, default=8.0, help="how long each fault lasts")
    parser.add_argument("--plant-interval", type=float, default=0.0033, help="seconds between plant rounds")
    parser.add_argument("--faults", default=",".join(FaultRig.FAULTS), help="comma-separated subset to rotate through")
    parser.add_argument(
        "--broker-saves",
        choices=["change", "second", "default"],
        default="change",
        help="when mosquitto saves its store: after every change (no loss), every second, or every 30 min (its "
        "default); see docs/reliability.md: the last two are faster under a backlog, but a killed broker loses what "
        "it acknowledged since its last save",
    )
    parser.add_argument("--one-gateway", action="store_true", help="each plant round in one batch message")
    parser.add_argument("--rounds-per-message", type=int, default=1, help="with --one-gateway: rounds in a message")
    parser.add_argument("--workdir", type=Path, default=None)
    args = parser.parse_args()

    rig = FaultRig(
        args.workdir,
        plant_interval=args.plant_interval,
        broker_saves=args.broker_saves,
        one_gateway=args.one_gateway,
        rounds_per_message=args.rounds_per_message,
    )
    rig.start()
    started = time.monotonic()
    end = started + args.minutes * 60
    ok = True
    try:
        for fault in itertools.cycle(args.faults.split(",")):
            calm = args.fault_every - args.fault_seconds
            if time.monotonic() + calm + args.fault_seconds > end:
                break
            time.sleep(max(0.0, calm))
            rig.fault(fault, args.fault_seconds)
            at = time.monotonic() - started
            published = rig.plant.rounds_so_far() * len(rig.plant.sensors)
            print(
                f"{at:6.0f} s  {fault}: hazwatch {'up' if rig.up() else 'DOWN'}; readings published {published}, "
                f"acknowledged by the broker {rig.plant.acknowledged_so_far()}, stored {rig.stored_readings()}",
                flush=True,
            )
            ok &= rig.up()
        time.sleep(max(0.0, end - time.monotonic()))
        ran = time.monotonic() - started
        rate = rig.plant.rounds_so_far() * len(rig.plant.sensors) / ran
        figures = rig.settle(timeout=300)
        print(figures)
        print(
            f"plant publishing rate reached: {rate:.0f} readings/s over {ran / 60:.1f} min; acknowledged by the "
            f"broker {figures.served / ran:.0f} readings/s"
        )
    finally:
        try:
            rig.stop()
        except Exception as exc:  # a hazwatch that does not stop on SIGTERM is a finding, not a crash of the soak
            print(f"stopping the installation failed: {exc!r}")
            ok = False
            if rig.hazwatch is not None:
                rig.hazwatch.kill()
            rig.mosquitto.stop()
            rig.influxd.stop()
    ok &= figures.sensors_equal == figures.sensors and figures.delivered == figures.announced
    ok &= not rig.duplicates_differ()
    print("invariants hold" if ok else "INVARIANT BROKEN")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
