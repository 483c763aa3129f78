"""What runs inside a sync's validation worker processes (mirror/sync/validation.py starts them).

Apart from the sync, and importing only the validator: a spawned worker imports the module of each function
it is given, and a module beside the engine would bring what the engine needs (the store, requests, authlib)
onto a core that should be validating. The sync imports this module too, to name its functions to the pool,
so the validator (fhir.resources, slow to import) is imported only where it runs.
"""

import atexit
import gc
import multiprocessing
import os
import signal
import threading
from multiprocessing.connection import wait

import orjson

# Containers allocated between two collections of the youngest generation (Python's default: 700). Validation
# builds thousands of models a batch: each collection walked what was young,
# so collecting far less often makes validating measurably faster (bench/README.md).
YOUNG_COLLECTION_THRESHOLD = 100_000

# Validation only has to be done by the end of the sync, while the sync's own work (and the payer's answers,
# when the payer is the local mock) decides when the pages are in: at equal priority, two workers, the sync and
# the mock shared two cores alike, and a walk took much longer (bench/README.md).
NICENESS = 10

# Each model is built on its first use, which is slow (feasibility.md): done before the first batch.
PAYER_TYPES = ("ExplanationOfBenefit", "Coverage", "Patient", "Organization", "Practitioner")


def prepare() -> None:
    """So that validation workers get out of the sync's way and end quickly.

    The pool's initializer: ignore Ctrl-C (the sync handles it), exit with the sync, yield the processor to
    it, collect cycles less often, build the models, and end without tearing the interpreter down: freeing
    fhir.resources' thousands of classes one by one cost each core a noticeable while after the
    sync was done. Every result has been sent by then."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    os.nice(NICENESS)
    atexit.register(os._exit, 0)
    gc.set_threshold(YOUNG_COLLECTION_THRESHOLD)
    parent = multiprocessing.parent_process()
    if parent is not None:
        threading.Thread(target=_exit_with_parent, args=(parent.sentinel,), daemon=True).start()
    from mirror.fhir.validation import validation_findings

    for resource_type in PAYER_TYPES:
        validation_findings({"resourceType": resource_type})


def findings(texts: list[str]) -> list[list[str]]:
    """The findings of each resource text."""
    from mirror.fhir.validation import validation_findings

    return [_findings_of(text, validation_findings) for text in texts]


def _findings_of(text: str, validation_findings) -> list[str]:
    try:
        return validation_findings(orjson.loads(text))
    except Exception as error:  # noqa: BLE001 - the store holds only JSON, but a validator must never fail a whole batch
        return [f"could not be validated ({type(error).__name__})"]


def _exit_with_parent(sentinel: int) -> None:
    """A pool's workers wait for tasks forever; one whose sync was killed would wait on as an orphan."""
    wait([sentinel])
    os._exit(0)
