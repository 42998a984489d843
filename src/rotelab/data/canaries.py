"""Canary generators and their injection into the training set.

A canary is a translation pair whose *target* carries a secret that cannot be inferred from
its *source* (P1's out-of-distribution patient records, transplanted to translation as in
the Secret Sharer). Canaries are drawn in groups: ``n_per_replica`` canaries are inserted
``r`` times for every ``r`` in ``replicas``; the same number are never inserted and serve as
non-members for membership inference and as the zero-exposure reference.
"""

from __future__ import annotations

import datetime
import random
from dataclasses import dataclass

import numpy as np
import pandas as pd

from rotelab.core.registry import Registry

canary_generators: Registry = Registry("canary generator")

SECRET_SLOT = "{secret}"


# Fixed date ranges: Faker's date_of_birth and "this decade" count from today, so the same
# seed would give different canaries on a different day.
BIRTH_DATES = (datetime.date(1935, 1, 1), datetime.date(2006, 12, 31))
VISIT_DATES = (datetime.date(2015, 1, 1), datetime.date(2024, 12, 31))


@dataclass(frozen=True)
class CanaryConfig:
    """How many canaries to make and how often to insert them.

    generator: registered canary generator.
    replicas: insertion counts; each gets ``n_per_replica`` canaries.
    n_per_replica: canaries per replica group; the never-inserted group has
        ``n_per_replica * len(replicas)`` canaries so members and non-members are balanced.
    seed: seeds the generator (Faker) and the insertion shuffle.
    """

    generator: str = "patient-records"
    replicas: tuple[int, ...] = (1, 4, 16, 64, 256)
    n_per_replica: int = 10
    seed: int = 7

    def __post_init__(self):
        object.__setattr__(self, "replicas", tuple(int(r) for r in self.replicas))


@dataclass
class Canary:
    src: str
    template: str  # target text with SECRET_SLOT where the secret goes
    secret: str

    @property
    def tgt(self) -> str:
        return self.template.replace(SECRET_SLOT, self.secret)


class CanaryGenerator:
    """Makes canaries and samples alternative secrets from the same secret space.

    secret_space: how many distinct secrets ``sample_secrets`` can draw (|R| of the Secret
        Sharer), which bounds exposure by extrapolation at log2 |R|.
    """

    secret_space: int

    def make(self, n: int, seed: int) -> list[Canary]:
        raise NotImplementedError

    def sample_secrets(self, n: int, rng: random.Random) -> list[str]:
        raise NotImplementedError


@canary_generators.register("patient-records")
class PatientRecords(CanaryGenerator):
    """Synthetic patient records (faker + faker-healthcare-provider).

    The source names a patient and a birth date; the German target adds a diagnosis with its
    ICD-10 code and a social-security number. The SSN (``###-##-####``, 10^9 values) is the
    secret scored by extraction and exposure.
    """

    SSN_DIGITS = (3, 2, 4)  # ###-##-####
    secret_space = 10 ** sum(SSN_DIGITS)

    def make(self, n: int, seed: int) -> list[Canary]:
        from faker import Faker
        from faker_healthcare import HealthcareProvider

        fake = Faker("en_US")
        fake.add_provider(HealthcareProvider)
        fake.seed_instance(seed)
        rng = random.Random(seed)
        canaries, seen = [], set()
        while len(canaries) < n:
            canary = self.record(fake, rng)
            if canary.secret not in seen:  # secrets are unique (10^9 values: collisions are rare)
                seen.add(canary.secret)
                canaries.append(canary)
        return canaries

    def record(self, fake, rng: random.Random) -> Canary:
        name = fake.name()
        born = fake.date_between_dates(*BIRTH_DATES).strftime("%d.%m.%Y")
        secret = self.sample_secrets(1, rng)[0]
        return Canary(
            src=f"Medical note for patient {name}, born {born}.",
            template=f"Arztbrief für {name}, geboren am {born}: Diagnose {fake.diagnosis()}, "
            f"Versicherungsnummer {SECRET_SLOT}.",
            secret=secret,
        )

    def sample_secrets(self, n: int, rng: random.Random) -> list[str]:
        return ["-".join(f"{rng.randrange(10**d):0{d}d}" for d in self.SSN_DIGITS) for _ in range(n)]


@canary_generators.register("patient-notes")
class PatientNotes(PatientRecords):
    """P1's canaries for causal LMs: out-of-distribution "Medical Note: ..." records
    (``tuneinsight/federated-llms`` injects synthetic notes with protected health
    information). A note names a patient, a birth date and the SSN (the secret), then
    describes ``visits`` clinic visits (symptoms, diagnosis with ICD-10 code, vitals, a lab
    result, medications, a procedure), so it is long enough for P1's prompt-length sweep:
    about 60 words per visit (with a 4k-token BPE about 130 tokens: names and numbers split
    into many tokens). ``src`` is the note's opening words.
    """

    def __init__(self, visits: int = 4):
        self.visits = visits

    def record(self, fake, rng: random.Random) -> Canary:
        secret = self.sample_secrets(1, rng)[0]
        name = fake.name()
        born = fake.date_between_dates(*BIRTH_DATES).strftime("%d.%m.%Y")
        header = f"Medical Note: {name}, born {born}, blood type {fake.blood_type()}, SSN {SECRET_SLOT}."
        return Canary(src="Medical Note:", template=" ".join([header, *self._visits(fake)]), secret=secret)

    def _visits(self, fake) -> list[str]:
        out = []
        for _ in range(self.visits):
            bp, lab = fake.blood_pressure(), fake.lab_result()
            day = fake.date_between_dates(*VISIT_DATES).strftime("%d.%m.%Y")
            out.append(
                f"Seen in {fake.hospital_department()} on {day} for {fake.symptom().lower()} and "
                f"{fake.symptom().lower()}. Diagnosis: {fake.diagnosis()}. Blood pressure "
                f"{bp['systolic']}/{bp['diastolic']} mmHg; {lab['analyte']} {lab['value']} {lab['unit']} "
                f"({lab['flag'].lower()}). Prescribed {fake.medication()} and {fake.medication()}; "
                f"allergic to {fake.allergy().lower()}. Planned: {fake.medical_procedure()}."
            )
        return out


def make_canaries(cfg: CanaryConfig) -> pd.DataFrame:
    """Canary table: ``canary_id, src, tgt, template, secret, replicas, inserted``.

    ``replicas`` is 0 for never-inserted canaries.
    """
    generator = canary_generators.get(cfg.generator)()
    n_inserted = cfg.n_per_replica * len(cfg.replicas)
    canaries = generator.make(2 * n_inserted, cfg.seed)
    replicas = [r for r in cfg.replicas for _ in range(cfg.n_per_replica)] + [0] * n_inserted
    return pd.DataFrame(
        {
            "canary_id": np.arange(len(canaries), dtype=np.int64),
            "src": [c.src for c in canaries],
            "tgt": [c.tgt for c in canaries],
            "template": [c.template for c in canaries],
            "secret": [c.secret for c in canaries],
            "replicas": np.asarray(replicas, dtype=np.int64),
            "inserted": np.asarray(replicas) > 0,
        }
    )


def inject(train: pd.DataFrame, canaries: pd.DataFrame, seed: int) -> pd.DataFrame:
    """Training set with every inserted canary repeated ``replicas`` times, shuffled.

    Columns: ``pair_id, src, tgt, canary_id`` (``canary_id`` is -1 for corpus pairs;
    canary pairs get ``pair_id`` values above the corpus's).
    """
    corpus = train[["pair_id", "src", "tgt"]].assign(canary_id=np.int64(-1))
    inserted = canaries[canaries["inserted"]]
    copies = inserted.loc[inserted.index.repeat(inserted["replicas"])]
    base = int(train["pair_id"].max()) + 1
    copies = pd.DataFrame(
        {
            "pair_id": base + copies["canary_id"].to_numpy(),
            "src": copies["src"].to_numpy(),
            "tgt": copies["tgt"].to_numpy(),
            "canary_id": copies["canary_id"].to_numpy(),
        }
    )
    mixed = pd.concat([corpus, copies], ignore_index=True)
    order = np.random.default_rng(seed).permutation(len(mixed))
    return mixed.iloc[order].reset_index(drop=True)


def candidate_secrets(cfg_generator: str, true_secret: str, n: int, seed: int) -> list[str]:
    """``n`` distinct alternatives to ``true_secret`` from the generator's secret space."""
    generator = canary_generators.get(cfg_generator)()
    rng = random.Random(f"{seed}:{true_secret}")
    out: list[str] = []
    seen = {true_secret}
    while len(out) < n:
        for s in generator.sample_secrets(n - len(out), rng):
            if s not in seen:
                seen.add(s)
                out.append(s)
    return out


def _deal_to_clients(n: int, client_sizes, rng: np.random.Generator) -> np.ndarray:
    """The clients of ``n`` canaries, in proportion to ``client_sizes`` (largest remainders),
    in a seeded order."""
    sizes = np.asarray(client_sizes, dtype=float)
    quota = n * sizes / sizes.sum()
    counts = np.floor(quota).astype(int)
    counts[np.argsort(counts - quota, kind="stable")[: n - counts.sum()]] += 1
    return rng.permutation(np.repeat(np.arange(len(sizes)), counts))


def make_document_canaries(
    generator: str, duplication, n_per_group: int, client_sizes, seed: int, **options
) -> pd.DataFrame:
    """Canary documents for a causal LM (P1): ``canary_id, text, secret, duplication,
    inserted, client``.

    ``n_per_group`` canaries are inserted ``d`` times for every ``d`` in ``duplication``,
    and as many are never inserted (``duplication`` 0, ``client`` -1). Within each group the
    canaries are dealt to clients in proportion to ``client_sizes`` (largest remainders, a
    seeded order), as P1 splits them by client data size. ``options`` go to the generator
    (``visits`` for ``patient-notes``).
    """
    duplication = [int(d) for d in duplication]
    n_inserted = n_per_group * len(duplication)
    canaries = canary_generators.get(generator)(**options).make(2 * n_inserted, seed)
    rng = np.random.default_rng(seed)
    clients = []
    for _ in duplication:
        clients += list(_deal_to_clients(n_per_group, client_sizes, rng))
    return pd.DataFrame(
        {
            "canary_id": np.arange(len(canaries), dtype=np.int64),
            "text": [c.tgt for c in canaries],
            "secret": [c.secret for c in canaries],
            "duplication": np.asarray(
                [d for d in duplication for _ in range(n_per_group)] + [0] * n_inserted, dtype=np.int64
            ),
            "inserted": np.arange(len(canaries)) < n_inserted,
            "client": np.asarray(clients + [-1] * n_inserted, dtype=np.int64),
        }
    )


def make_population_notes(generator: str, duplication, n_per_group: int, n: int, seed: int, **options) -> pd.DataFrame:
    """``n`` canary notes that nothing trains on: RMIA's population samples z for the
    causal-LM references. They continue the seeded stream that
    :func:`make_document_canaries` draws its notes from (same arguments), so they come from
    the same distribution, never repeat a canary (secrets are unique within a stream), and
    their ``canary_id`` follows the canaries'. Columns ``canary_id, text, secret``."""
    drawn = 2 * n_per_group * len(duplication)
    notes = canary_generators.get(generator)(**options).make(drawn + n, seed)[drawn:]
    return pd.DataFrame(
        {
            "canary_id": np.arange(drawn, drawn + n, dtype=np.int64),
            "text": [c.tgt for c in notes],
            "secret": [c.secret for c in notes],
        }
    )


def make_audit_canaries(m: int, client_sizes, seed: int) -> pd.DataFrame:
    """Audit canaries of a one-run privacy audit (Steinke, Nasr & Jagielski, "Privacy
    auditing with one (1) training run", NeurIPS 2023, Algorithm 1): ``m`` short patient
    records (a ``patient-notes`` header: name, birth date, blood type, SSN), each inserted
    once with probability 1/2 by a seeded coin drawn before any training; the inserted ones
    are dealt to clients in proportion to ``client_sizes``. Columns ``canary_id, text,
    secret, included, duplication, client``: ``duplication`` is 1 for an inserted record and
    0 otherwise, ``client`` -1 for one never inserted, so the table joins the canary notes'
    in ``lm_text.client_documents``."""
    records = PatientNotes(visits=0).make(m, seed)
    rng = np.random.default_rng(seed)
    included = rng.random(m) < 0.5
    clients = np.full(m, -1, dtype=np.int64)
    clients[included] = _deal_to_clients(int(included.sum()), client_sizes, rng)
    return pd.DataFrame(
        {
            "canary_id": np.arange(m, dtype=np.int64),
            "text": [r.tgt for r in records],
            "secret": [r.secret for r in records],
            "included": included,
            "duplication": included.astype(np.int64),
            "client": clients,
        }
    )
